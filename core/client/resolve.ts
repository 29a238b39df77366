import * as dagPb from '@ipld/dag-pb'
import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { formatContentPath } from '../content/cid.ts'
import type { ContentPath } from '../content/cid.ts'
import { fileSize } from '../content/read-file.ts'
import { CairnError, NotADirectoryError, NotFoundError, ProtocolError } from '../errors.ts'
import { exporterStore } from './context.ts'
import type { ClientContext } from './context.ts'

export type EntryKind = 'file' | 'directory' | 'symlink' | 'raw' | 'object'

export interface EntryInfo {
  cid: CID
  name: string
  kind: EntryKind
  /** Content bytes for files; the DAG's cumulative size (Tsize) for the rest. */
  size: number
  /** A symlink's target. */
  target?: string
  /** A directory stored as a HAMT (sharded because it grew past the profile's threshold). */
  sharded?: boolean
  /** POSIX mode when the UnixFS node records one. */
  mode?: number
  mtime?: Date
}

/** Walks `path` from its root CID to an entry. */
export async function resolveEntry (ctx: ClientContext, path: ContentPath, signal?: AbortSignal): Promise<UnixFSEntry> {
  const text = formatContentPath(path)
  try {
    return await exporter(text, exporterStore(ctx.reader), signal === undefined ? {} : { signal })
  } catch (err) {
    throw translate(err, text)
  }
}

/** The CID a path names: its root when nothing is below it, without fetching a block. */
export async function resolveCid (ctx: ClientContext, path: ContentPath, signal?: AbortSignal): Promise<CID> {
  return path.segments.length === 0 ? path.root : (await resolveEntry(ctx, path, signal)).cid
}

export function entryInfo (entry: UnixFSEntry): EntryInfo {
  const info: EntryInfo = { cid: entry.cid, name: entry.name, kind: 'object', size: 0 }
  if (entry.type === 'directory') {
    info.kind = 'directory'
    if (entry.unixfs.type === 'hamt-sharded-directory') info.sharded = true
    info.size = entry.node.Links.reduce((n, l) => n + (l.Tsize ?? 0), entry.node.Data?.byteLength ?? 0)
  } else if (entry.type === 'file') {
    if (entry.unixfs.type === 'symlink') {
      info.kind = 'symlink'
      info.target = new TextDecoder().decode(entry.unixfs.data ?? new Uint8Array(0))
      info.size = info.target.length
    } else {
      info.kind = 'file'
      info.size = Number(entry.unixfs.fileSize())
    }
  } else if (entry.type === 'raw' || entry.type === 'identity') {
    info.kind = 'file'
    info.size = Number(entry.size)
  } else {
    info.kind = 'object'
    info.size = entry.node.byteLength
  }
  if (entry.type === 'file' || entry.type === 'directory') {
    const mode = storedMode(entry.unixfs)
    if (mode !== undefined) info.mode = mode
    if (entry.unixfs.mtime !== undefined) info.mtime = new Date(Number(entry.unixfs.mtime.secs) * 1000)
  }
  return info
}

/** The kind and size of a block from its bytes alone (for listings that resolve types). */
export function kindOfBlock (cid: CID, bytes: Uint8Array): { kind: EntryKind, size: number, target?: string } {
  if (cid.code === raw.code) return { kind: 'file', size: bytes.byteLength }
  if (cid.code !== dagPb.code) return { kind: 'object', size: bytes.byteLength }
  try {
    const node = dagPb.decode(bytes)
    const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array(0))
    if (unixfs.isDirectory()) return { kind: 'directory', size: 0 }
    if (unixfs.type === 'symlink') {
      const target = new TextDecoder().decode(unixfs.data ?? new Uint8Array(0))
      return { kind: 'symlink', size: target.length, target }
    }
    return { kind: 'file', size: fileSize(cid, bytes) }
  } catch {
    return { kind: 'object', size: bytes.byteLength }
  }
}

function translate (err: unknown, path: string): Error {
  if (err instanceof CairnError) return err
  const name = (err as Error)?.name
  const message = (err as Error)?.message ?? String(err)
  if (name === 'NotFoundError' || name === 'ERR_NOT_FOUND') {
    return new NotFoundError(`${path}: ${message}`, { cause: err, hint: 'check the path; cairn ls lists a directory' })
  }
  if (name === 'NotUnixFSError') {
    return new ProtocolError(`${path} is not a UnixFS DAG: ${message}`, { cause: err })
  }
  if (name === 'NoResolverError') {
    return new ProtocolError(`${path} uses a codec Cairn cannot read: ${message}`, { cause: err })
  }
  if (name === 'BadPathError') {
    return new NotADirectoryError(`${path}: ${message}`, { cause: err })
  }
  return err as Error
}

/**
 * The mode the node records, or undefined when it records none (ipfs-unixfs
 * then reports a default 0644/0755, which would be misleading to show or apply).
 */
function storedMode (unixfs: UnixFS): number | undefined {
  const original = (unixfs as unknown as { _originalMode?: number })._originalMode
  return original === undefined || original === 0 ? undefined : unixfs.mode
}
