import type { CID } from 'multiformats/cid'
import type { ContentPath } from '../content/cid.ts'
import { directoryEntries } from '../content/list-directory.ts'
import type { ClientContext } from './context.ts'
import { entryInfo, kindOfBlock, resolveEntry } from './resolve.ts'
import type { EntryInfo, EntryKind } from './resolve.ts'

export interface LsOptions {
  /** Fetch each child's root block to tell its type and file size. Default true. */
  resolveTypes?: boolean
  signal?: AbortSignal
}

export interface ListedEntry {
  name: string
  cid: CID
  /** `unknown` when types are not resolved. */
  kind: EntryKind | 'unknown'
  /** File content size when resolved; otherwise the link's cumulative DAG size. */
  size: number
  target?: string
}

/** Children fetched at once when resolving types. */
const RESOLVE_CONCURRENCY = 32

/**
 * Lists a directory (plain or HAMT-sharded) from its links; with types
 * resolved, fetches each child's root block in parallel (one block each,
 * never the child's content). A file lists as itself.
 */
export async function ls (ctx: ClientContext, path: ContentPath, options: LsOptions = {}): Promise<ListedEntry[]> {
  const entry = await resolveEntry(ctx, path, options.signal)
  const info = entryInfo(entry)
  if (info.kind !== 'directory' || entry.type !== 'directory') return [asListed(info)]

  const listed: ListedEntry[] = []
  for await (const child of directoryEntries(ctx.reader, entry, options.signal)) {
    listed.push({ name: child.name, cid: child.cid, kind: 'unknown', size: child.size })
  }
  if (options.resolveTypes !== false) {
    ctx.reader.hint(listed.map((l) => l.cid))
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < listed.length) {
        const item = listed[next++] as ListedEntry
        const bytes = await ctx.reader.get(item.cid, options.signal === undefined ? {} : { signal: options.signal })
        const kind = kindOfBlock(item.cid, bytes)
        item.kind = kind.kind
        if (kind.kind !== 'directory') item.size = kind.size
        if (kind.target !== undefined) item.target = kind.target
      }
    }
    await Promise.all(Array.from({ length: Math.min(RESOLVE_CONCURRENCY, listed.length) }, worker))
  }
  return listed
}

function asListed (info: EntryInfo): ListedEntry {
  const listed: ListedEntry = { name: info.name, cid: info.cid, kind: info.kind, size: info.size }
  if (info.target !== undefined) listed.target = info.target
  return listed
}
