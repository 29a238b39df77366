import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { InvalidPathError, NotFoundError } from '../core/index.ts'
import type { GatewayBlocks } from './blocks.ts'

/** Symlinks followed in one request at most (a loop is not followed forever). */
const MAX_SYMLINK_HOPS = 32

export interface Resolved {
  entry: UnixFSEntry
  /** The CID of the root and of every segment walked (X-Ipfs-Roots). */
  roots: CID[]
  /** The segments actually walked, symlinks resolved. */
  segments: string[]
}

export interface ResolveOptions {
  /** Serve what a final symlink points to (paths), or the symlink itself (trustless formats). */
  followFinalSymlink: boolean
  signal: AbortSignal
}

/**
 * Walks `segments` from `root` one step at a time, so every CID on the way
 * is known; UnixFS symlinks are followed within the DAG: relative targets
 * only, and never above the root.
 */
export async function resolvePath (blocks: GatewayBlocks, root: CID, segments: string[], options: ResolveOptions): Promise<Resolved> {
  const store = { async * get (cid: CID, opts?: { signal?: AbortSignal }) { yield await blocks.get(cid, opts) } }
  const opts = { signal: options.signal }
  let wanted = segments
  for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
    let entry = await exporter(root, store, opts)
    const roots: CID[] = [root]
    const walked: string[] = []
    let redirected: string[] | undefined
    for (let i = 0; i <= wanted.length; i++) {
      const last = i === wanted.length
      if (isSymlink(entry) && (!last || options.followFinalSymlink)) {
        redirected = followSymlink(entry, walked, wanted.slice(i))
        break
      }
      if (last) break
      const segment = wanted[i] as string
      if (entry.type === 'object') {
        // dag-cbor / dag-json: the exporter walks fields and links itself
        entry = await exporter(`${entry.cid.toString()}/${wanted.slice(i).join('/')}`, store, opts)
        roots.push(entry.cid)
        walked.push(...wanted.slice(i))
        break
      }
      if (entry.type !== 'directory') {
        throw new NotFoundError(`/${walked.join('/')} is a file: it has no "${segment}"`, { hint: 'check the path' })
      }
      entry = await exporter(`${entry.cid.toString()}/${segment}`, store, opts)
      roots.push(entry.cid)
      walked.push(segment)
    }
    if (redirected === undefined) return { entry, roots, segments: walked }
    wanted = redirected
  }
  throw new NotFoundError(`more than ${MAX_SYMLINK_HOPS} symlinks on the way (a loop?)`)
}

function isSymlink (entry: UnixFSEntry): boolean {
  return entry.type === 'file' && entry.unixfs.type === 'symlink'
}

/** The path a symlink at `/walked` points to, with the segments after it. */
function followSymlink (entry: UnixFSEntry, walked: string[], rest: string[]): string[] {
  const target = entry.type === 'file' ? new TextDecoder().decode(entry.unixfs.data ?? new Uint8Array(0)) : ''
  if (target.startsWith('/') || target === '') {
    throw new NotFoundError(`/${walked.join('/')} is a symlink to "${target}", outside this DAG`, {
      hint: 'only relative symlinks are followed, within the DAG'
    })
  }
  const out = walked.slice(0, -1)
  for (const part of [...target.split('/'), ...rest]) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length === 0) {
        throw new InvalidPathError(`/${walked.join('/')} is a symlink to "${target}", which leaves the DAG's root`, {
          hint: 'symlinks are followed within the DAG only'
        })
      }
      out.pop()
      continue
    }
    if (part.includes('\0')) throw new InvalidPathError('a symlink target contains a NUL byte')
    out.push(part)
  }
  return out
}
