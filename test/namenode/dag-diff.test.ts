import { unixfs } from '@helia/unixfs'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { exporter } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { TreeEditor, blockKey, blockLinks, mayHaveLinks } from '../../core/index.ts'
import type { TreeEdit } from '../../core/index.ts'
import { DagIndex } from '../../namenode/dag-index.ts'
import { prng } from '../helpers/data.ts'
import { MemoryStore } from '../helpers/memory-store.ts'

/**
 * A name publish checks only what its new tree does not share with the
 * name's current one (DagIndex.reachChanged). Safety: it must never leave
 * out a block the old tree does not have, and never add one the new tree
 * does not reach. Cost: an edit deep in a big tree visits the path to it.
 */

const SHARD = { shardSplitStrategy: 'block-bytes' as const, shardSplitThresholdBytes: 4_096 }

class Tree {
  readonly store = new MemoryStore()
  readonly index = new DagIndex()
  readonly fs = unixfs({ blockstore: this.store })

  /** Indexes every linking block stored so far, as dagPut does on the namenode. */
  sync (): void {
    for (const [key, { cid, bytes }] of this.store.blocks) {
      if (mayHaveLinks(cid) && !this.index.has(key)) this.index.set(key, blockLinks(cid, bytes))
    }
  }

  async file (bytes: Uint8Array): Promise<CID> {
    // small chunks: files of several leaves, which an append shares
    return await this.fs.addBytes(bytes, { chunker: fixedSize({ chunkSize: 512 }), rawLeaves: true, cidVersion: 1 })
  }

  async edit (root: CID, edits: TreeEdit[]): Promise<CID> {
    const editor = await TreeEditor.open(root, {
      blocks: {
        get: async (cid) => { for await (const b of this.store.get(cid)) return b; throw new Error(`no block ${cid}`) },
        put: async (cid, bytes) => { await this.store.put(cid, bytes) }
      },
      fs: this.fs,
      lookup: async (dir, name) => {
        try {
          return (await exporter(`${dir.toString()}/${name}`, this.store)).cid
        } catch (err) {
          if ((err as Error).name === 'NotFoundError') return undefined
          throw err
        }
      },
      shard: SHARD,
      cidVersion: 1
    })
    for (const edit of edits) await editor.apply(edit)
    const next = await editor.flush()
    this.sync()
    return next
  }

  keys (root: CID): Set<string> {
    return new Set(this.index.reach(root).blocks.keys())
  }
}

describe('DAG index: what a new tree adds to an old one', () => {
  for (const seed of [1, 2, 3]) {
    it(`never leaves out a new block nor adds one the new tree lacks (random edits, seed ${seed})`, async () => {
      const random = prng(seed)
      const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)] as T
      const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
      const tree = new Tree()
      let root = await tree.fs.addDirectory({}, { cidVersion: 1 })
      const dirs = ['']
      const files = new Map<string, Uint8Array>()
      let serial = 0
      for (let round = 0; round < 60; round++) {
        const edits: TreeEdit[] = []
        for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
          const r = random()
          const dir = pick(dirs)
          if (r < 0.2) {
            const path = `${dir}/d${serial++}`
            edits.push({ op: 'mkdir', path })
            dirs.push(path)
          } else if (r < 0.6 || files.size === 0) {
            // a new file, or one grown from an existing file's bytes (sharing its leaves)
            const from = files.size > 0 && random() < 0.4 ? pick([...files.values()]) : new Uint8Array(0)
            const content = Uint8Array.from([...from, ...bytes(Math.floor(random() * 2_000))])
            const path = random() < 0.3 && files.size > 0 ? pick([...files.keys()]) : `${dir}/f${serial++}`
            edits.push({ op: 'put', path, cid: await tree.file(content) })
            files.set(path, content)
          } else if (r < 0.75) {
            const path = pick([...files.keys()])
            edits.push({ op: 'rm', path })
            files.delete(path)
          } else if (r < 0.9) {
            const from = pick([...files.keys()])
            const to = `${dir}/m${serial++}`
            edits.push({ op: 'mv', from, to })
            files.set(to, files.get(from) as Uint8Array)
            files.delete(from)
          } else {
            edits.push({ op: 'touch', path: pick([...files.keys()]), mtimeMs: 1_700_000_000_000 + serial++ })
          }
        }
        tree.sync()
        const next = await tree.edit(root, edits)
        const before = tree.keys(root)
        const after = tree.keys(next)
        const changed = tree.index.reachChanged(next, root)
        expect(changed.unindexed).toEqual([])
        const got = new Set(changed.blocks.keys())
        for (const key of after) if (!before.has(key)) expect(got.has(key), `round ${round}: a new block left out`).toBe(true)
        for (const key of got) expect(after.has(key), `round ${round}: a block the new tree does not reach`).toBe(true)
        root = next
      }
      expect(dirs.length).toBeGreaterThan(5)
    })
  }

  it('an edit deep in a big tree visits the path to it and what is new, not the tree', async () => {
    const tree = new Tree()
    let root = await tree.fs.addDirectory({}, { cidVersion: 1 })
    const edits: TreeEdit[] = [{ op: 'mkdir', path: '/a' }, { op: 'mkdir', path: '/a/b' }, { op: 'mkdir', path: '/wide' }]
    // /wide outgrows the shard threshold: a HAMT, edited below one of its shards
    for (let i = 0; i < 300; i++) edits.push({ op: 'put', path: `/wide/file-${i}`, cid: await tree.file(new TextEncoder().encode(`wide ${i}`)) })
    const big = Uint8Array.from({ length: 20_000 }, (_, i) => i % 251)
    edits.push({ op: 'put', path: '/a/b/big.bin', cid: await tree.file(big) })
    root = await tree.edit(root, edits)
    const total = tree.keys(root).size
    expect(total).toBeGreaterThan(300)

    // one new small file two levels down: the root, /a, /a/b, and the file
    const one = await tree.edit(root, [{ op: 'put', path: '/a/b/note.txt', cid: await tree.file(new TextEncoder().encode('note')) }])
    expect(tree.index.reachChanged(one, root).blocks.size).toBe(4)

    // a file in the shard: the root, /wide's shard root, the sub-shard(s) on the way, the file
    const inShard = await tree.edit(one, [{ op: 'put', path: '/wide/file-7', cid: await tree.file(new TextEncoder().encode('changed')) }])
    const shardChange = tree.index.reachChanged(inShard, one).blocks.size
    expect(shardChange).toBeGreaterThanOrEqual(4)
    expect(shardChange).toBeLessThanOrEqual(6)

    // the big file grown by a few bytes: its new last leaves and root, not its 40 shared leaves
    const grown = Uint8Array.from([...big, 1, 2, 3])
    const appended = await tree.edit(inShard, [{ op: 'put', path: '/a/b/big.bin', cid: await tree.file(grown) }])
    const appendChange = tree.index.reachChanged(appended, inShard)
    expect(appendChange.blocks.size).toBeLessThanOrEqual(3 + 3)
    expect([...appendChange.blocks.keys()]).toContain(blockKey(appended))

    // nothing changed: nothing to check
    expect(tree.index.reachChanged(appended, appended).blocks.size).toBe(0)
  })
})
