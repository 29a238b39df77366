import type { CID } from 'multiformats/cid'
import { parseName, resolveEntry } from '../core/index.ts'
import type { CairnClient, ContentPath } from '../core/index.ts'
import { posix } from './errors.ts'
import { nodeFromBlock, segments } from './node-table.ts'
import type { FsNode } from './node-table.ts'
import { RangeReader } from './range-reader.ts'

/** Handles of views start here, apart from the drive's. */
let nextViewHandle = 1 << 30

/** Resolved entries kept (immutable, so never stale). */
const ENTRY_CACHE = 10_000

/**
 * `ipfs/<cid>/...` and `ipns/<name>/...`: read-only views of any content
 * in the cluster, looked up on demand (the `ipfs/` directory itself lists
 * nothing, as there is no list of every CID). Content under a CID never
 * changes, so each path is resolved once and kept.
 */
export class ContentView {
  private readonly client: CairnClient
  private readonly kind: 'ipfs' | 'ipns'
  private readonly nameTtlMs: number
  private readonly entries = new Map<string, FsNode>()
  private readonly names = new Map<string, { root: ContentPath, atMs: number }>()
  private readonly startMs = Date.now()
  private readonly readers = new Map<number, RangeReader>()

  constructor (client: CairnClient, kind: 'ipfs' | 'ipns', nameTtlMs: number) {
    this.client = client
    this.kind = kind
    this.nameTtlMs = nameTtlMs
  }

  async lookup (path: string): Promise<FsNode> {
    const parts = segments(path)
    if (parts.length === 0) return { kind: 'dir', size: 0, mode: 0o555, mtimeMs: this.startMs, children: new Map() }
    const target = await this.contentPath(parts)
    const key = [target.root.toString(), ...target.segments].join('/')
    const cached = this.entries.get(key)
    if (cached !== undefined) return cached
    const entry = await resolveEntry(this.client.context, target)
    const node = nodeFromBlock(entry.cid, await this.client.reader.get(entry.cid), this.startMs)
    node.mode &= 0o555
    if (this.entries.size >= ENTRY_CACHE) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, node)
    return node
  }

  private async contentPath (parts: string[]): Promise<ContentPath> {
    const [head, ...rest] = parts as [string, ...string[]]
    if (this.kind === 'ipfs') {
      try {
        return { root: (await this.client.resolve(`/ipfs/${head}`)).root, segments: rest }
      } catch {
        throw posix('ENOENT', `${head} is not a CID`)
      }
    }
    try {
      parseName(head)
    } catch {
      throw posix('ENOENT', `${head} is not an IPNS name`)
    }
    let known = this.names.get(head)
    if (known === undefined || Date.now() - known.atMs > this.nameTtlMs) {
      known = { root: await this.client.resolve(`/ipns/${head}`), atMs: Date.now() }
      this.names.set(head, known)
    }
    return { root: known.root.root, segments: [...known.root.segments, ...rest] }
  }

  async readdir (path: string): Promise<string[]> {
    const parts = segments(path)
    if (parts.length === 0) return []
    const node = await this.lookup(path)
    if (node.kind !== 'dir') throw posix('ENOTDIR', `${path} is not a directory`)
    const entry = await resolveEntry(this.client.context, { root: node.cid as CID, segments: [] })
    if (entry.type !== 'directory') return []
    const names: string[] = []
    for await (const child of entry.entries()) names.push(child.name)
    return names
  }

  async open (path: string, flags: number): Promise<number> {
    if ((flags & 3) !== 0) throw posix('EROFS', `${this.kind}/ is read-only`)
    const node = await this.lookup(path)
    if (node.kind === 'dir') throw posix('EISDIR', `${path} is a directory`)
    const fh = nextViewHandle++
    this.readers.set(fh, new RangeReader(node.cid as CID, this.client.reader, node.size))
    return fh
  }

  owns (fh: number): boolean {
    return this.readers.has(fh)
  }

  async read (fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    const reader = this.readers.get(fh)
    if (reader === undefined) throw posix('EBADF', `no open file ${fh}`)
    return await reader.read(buf, position, length)
  }

  async release (fh: number): Promise<void> {
    await this.readers.get(fh)?.close()
    this.readers.delete(fh)
  }

  async readlink (path: string): Promise<string> {
    const node = await this.lookup(path)
    if (node.kind !== 'symlink') throw posix('EINVAL', `${path} is not a symlink`)
    return node.target ?? ''
  }
}
