import type { CID } from 'multiformats/cid'
import { CarReader } from '@ipld/car'
import { readFile } from 'node:fs/promises'
import { blockKey } from '../../core/index.ts'

/** A map-backed block store with the shapes the importer and exporter use. */
export class MemoryStore {
  readonly blocks = new Map<string, { cid: CID, bytes: Uint8Array }>()

  async put (cid: CID, bytes: Uint8Array): Promise<CID> {
    this.blocks.set(blockKey(cid), { cid, bytes })
    return cid
  }

  async * get (cid: CID): AsyncGenerator<Uint8Array> {
    const block = this.blocks.get(blockKey(cid))
    if (block === undefined) throw new Error(`no block ${cid}`)
    yield block.bytes
  }

  has (cid: CID): boolean {
    return this.blocks.has(blockKey(cid))
  }

  static async fromCar (file: string): Promise<{ store: MemoryStore, roots: CID[] }> {
    const reader = await CarReader.fromBytes(await readFile(file))
    const store = new MemoryStore()
    for await (const { cid, bytes } of reader.blocks()) await store.put(cid, bytes)
    return { store, roots: await reader.getRoots() }
  }
}
