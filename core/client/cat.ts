import { formatContentPath } from '../content/cid.ts'
import type { ContentPath } from '../content/cid.ts'
import { readFile } from '../content/read-file.ts'
import { NotAFileError } from '../errors.ts'
import type { ClientContext } from './context.ts'
import { entryInfo, resolveEntry } from './resolve.ts'

export interface CatOptions {
  offset?: number
  length?: number
  signal?: AbortSignal
  /** Leaves fetched ahead. Default READ_AHEAD_BLOCKS. */
  readAheadBlocks?: number
}

/** The bytes of a file, streamed in order with bounded read-ahead. */
export async function * cat (ctx: ClientContext, path: ContentPath, options: CatOptions = {}): AsyncGenerator<Uint8Array> {
  const entry = await resolveEntry(ctx, path, options.signal)
  const info = entryInfo(entry)
  if (info.kind === 'directory') {
    throw new NotAFileError(`${formatContentPath(path)} is a directory`, { hint: 'use cairn ls to list it, or cairn get to download it' })
  }
  if (info.kind === 'symlink') {
    throw new NotAFileError(`${formatContentPath(path)} is a symlink to ${info.target ?? '?'}`, { hint: 'cat the path it points to' })
  }
  if (entry.type === 'object') {
    // not UnixFS (dag-cbor, dag-json...): the block itself is the content
    yield entry.node.subarray(options.offset ?? 0, options.length === undefined ? undefined : (options.offset ?? 0) + options.length)
    return
  }
  yield * readFile(entry.cid, ctx.reader, options)
}
