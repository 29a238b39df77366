import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { UnixFSDirectory } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { ProtocolError } from '../errors.ts'
import type { BlockGetter } from './read-file.ts'

export interface Listed {
  name: string
  cid: CID
  /** The link's cumulative size: known without fetching the child. */
  size: number
}

/**
 * A directory's entries, whatever its layout: a plain one's from the node
 * the exporter already holds, a HAMT's through listDirectory (the exporter
 * fetches its shards one at a time, a round trip each).
 */
export async function * directoryEntries (blocks: BlockGetter, dir: UnixFSDirectory, signal?: AbortSignal): AsyncGenerator<Listed> {
  if (dir.unixfs.type === 'hamt-sharded-directory') {
    yield * await listDirectory(blocks, dir.cid, signal)
    return
  }
  for await (const { name, cid, size } of dir.entries(signal === undefined ? {} : { signal })) yield { name, cid, size: Number(size) }
}

/** Shard nodes of a HAMT fetched at once. */
const SHARD_CONCURRENCY = 32

interface DirNode {
  node: dagPb.PBNode
  /** Length of the hex prefix naming a HAMT bucket; 0 for a plain directory. */
  prefix: number
}

/**
 * A directory's entries from its links alone, never its children. A HAMT
 * is read level by level: every shard of a level located in one batch and
 * fetched SHARD_CONCURRENCY at a time (the exporter walks them one by one,
 * a round trip each), then the entries are put back in link order. A
 * 10,000-entry directory is about 950 shard blocks.
 */
export async function listDirectory (blocks: BlockGetter, root: CID, signal?: AbortSignal): Promise<Listed[]> {
  const nodes = new Map<string, DirNode>()
  let level: CID[] = [root]
  while (level.length > 0) {
    blocks.hint?.(level)
    const decoded = await mapLimit(level, SHARD_CONCURRENCY, async (cid) => decode(cid, await blocks.get(cid, signal === undefined ? {} : { signal })))
    const next: CID[] = []
    level.forEach((cid, i) => {
      const dir = decoded[i] as DirNode
      nodes.set(cid.toString(), dir)
      if (dir.prefix > 0) for (const link of dir.node.Links) if ((link.Name ?? '').length === dir.prefix) next.push(link.Hash)
    })
    level = next.filter((cid) => !nodes.has(cid.toString()))
  }
  const out: Listed[] = []
  const emit = (cid: CID, depth: number): void => {
    const dir = nodes.get(cid.toString())
    if (dir === undefined || depth > 64) throw new ProtocolError(`HAMT shard ${cid} is malformed (missing or too deep)`)
    for (const link of dir.node.Links) {
      const name = link.Name ?? ''
      if (dir.prefix > 0 && name.length === dir.prefix) emit(link.Hash, depth + 1)
      else out.push({ name: name.slice(dir.prefix), cid: link.Hash, size: link.Tsize ?? 0 })
    }
  }
  emit(root, 0)
  return out
}

function decode (cid: CID, bytes: Uint8Array): DirNode {
  try {
    const node = dagPb.decode(bytes)
    const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array(0))
    if (unixfs.type !== 'hamt-sharded-directory') return { node, prefix: 0 }
    return { node, prefix: (Number(unixfs.fanout ?? 256n) - 1).toString(16).length }
  } catch (err) {
    throw new ProtocolError(`directory ${cid} is not a valid UnixFS node`, { cause: err })
  }
}

/** `fn` over `items` with at most `limit` running at once; results in input order. */
async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
