import * as dagPb from '@ipld/dag-pb'
import { exporter } from 'ipfs-unixfs-exporter'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { exporterStore, fileSize } from '../core/index.ts'
import type { CairnClient } from '../core/index.ts'

type BlockReader = CairnClient['reader']
import { posix } from './errors.ts'

/** Child blocks fetched at once while listing a directory. */
const LIST_CONCURRENCY = 32

export type NodeKind = 'file' | 'dir' | 'symlink'

/** One entry of the mounted tree as this mount knows it. */
export interface FsNode {
  kind: NodeKind
  /** Its stored DAG; undefined for what exists only here so far (a file not yet flushed). */
  cid?: CID
  size: number
  /** Permission bits. */
  mode: number
  mtimeMs: number
  target?: string
  /** A directory's entries, once listed. */
  children?: Map<string, FsNode>
  loading?: Promise<void>
}

export function segments (path: string): string[] {
  return path.split('/').filter((s) => s !== '')
}

/** An entry from its root block: kind, size, and the mode and mtime UnixFS keeps, if any. */
export function nodeFromBlock (cid: CID, bytes: Uint8Array, defaultMtimeMs: number): FsNode {
  if (cid.code === raw.code) return { kind: 'file', cid, size: bytes.byteLength, mode: 0o644, mtimeMs: defaultMtimeMs }
  if (cid.code !== dagPb.code) return { kind: 'file', cid, size: bytes.byteLength, mode: 0o444, mtimeMs: defaultMtimeMs }
  const node = dagPb.decode(bytes)
  const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array(0))
  const stored = (unixfs as unknown as { _originalMode?: number })._originalMode
  const mtimeMs = unixfs.mtime === undefined ? defaultMtimeMs : Number(unixfs.mtime.secs) * 1000 + Math.floor((unixfs.mtime.nsecs ?? 0) / 1e6)
  if (unixfs.isDirectory()) {
    return { kind: 'dir', cid, size: 0, mode: stored === undefined || stored === 0 ? 0o755 : (unixfs.mode ?? 0) & 0o7777, mtimeMs }
  }
  if (unixfs.type === 'symlink') {
    const target = new TextDecoder().decode(unixfs.data ?? new Uint8Array(0))
    return { kind: 'symlink', cid, size: target.length, mode: 0o777, target, mtimeMs }
  }
  return { kind: 'file', cid, size: fileSize(cid, bytes), mode: stored === undefined || stored === 0 ? 0o644 : (unixfs.mode ?? 0) & 0o7777, mtimeMs }
}

/**
 * The tree under one root, listed lazily: a directory's entries are
 * fetched on first lookup (their root blocks in one batch of locations),
 * then kept. Local changes are made here first, so the mount reads its
 * own writes before they are published.
 */
export class NodeTable {
  root: FsNode
  private readonly reader: BlockReader
  private readonly defaultMtimeMs: number

  constructor (root: FsNode, reader: BlockReader, defaultMtimeMs: number) {
    this.root = root
    this.reader = reader
    this.defaultMtimeMs = defaultMtimeMs
  }

  async lookup (path: string): Promise<FsNode | undefined> {
    let node = this.root
    for (const name of segments(path)) {
      if (node.kind !== 'dir') throw posix('ENOTDIR', `${path}: a parent is not a directory`)
      const children = await this.children(node)
      const child = children.get(name)
      if (child === undefined) return undefined
      node = child
    }
    return node
  }

  async get (path: string): Promise<FsNode> {
    const node = await this.lookup(path)
    if (node === undefined) throw posix('ENOENT', `${path} does not exist`)
    return node
  }

  /** The directory an entry goes in, and the entry's name. */
  async parent (path: string): Promise<{ dir: FsNode, name: string, children: Map<string, FsNode> }> {
    const parts = segments(path)
    const name = parts.pop()
    if (name === undefined) throw posix('EBUSY', 'the root of the mount cannot be changed')
    const dir = await this.get(parts.join('/'))
    if (dir.kind !== 'dir') throw posix('ENOTDIR', `${parts.join('/')} is not a directory`)
    return { dir, name, children: await this.children(dir) }
  }

  async children (dir: FsNode): Promise<Map<string, FsNode>> {
    if (dir.children !== undefined) return dir.children
    dir.loading ??= this.list(dir)
    await dir.loading
    return dir.children as unknown as Map<string, FsNode>
  }

  private async list (dir: FsNode): Promise<void> {
    try {
      const children = new Map<string, FsNode>()
      if (dir.cid !== undefined) {
        const entry = await exporter(dir.cid, exporterStore(this.reader))
        if (entry.type !== 'directory') throw posix('ENOTDIR', `${dir.cid} is not a directory`)
        const links: Array<{ name: string, cid: CID }> = []
        for await (const child of entry.entries()) links.push({ name: child.name, cid: child.cid })
        this.reader.hint(links.map((l) => l.cid))
        let next = 0
        const worker = async (): Promise<void> => {
          while (next < links.length) {
            const link = links[next++] as { name: string, cid: CID }
            children.set(link.name, nodeFromBlock(link.cid, await this.reader.get(link.cid), this.defaultMtimeMs))
          }
        }
        await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, links.length) }, worker))
      }
      dir.children = children
    } finally {
      delete dir.loading
    }
  }
}
