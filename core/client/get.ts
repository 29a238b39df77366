import { chmod, mkdir, open, rename, rm, stat, symlink, lstat } from 'node:fs/promises'
import path from 'node:path'
import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { ContentPath } from '../content/cid.ts'
import { localError } from '../content/local-source.ts'
import { readFile } from '../content/read-file.ts'
import { LocalFileError, ProtocolError } from '../errors.ts'
import { exporterStore } from './context.ts'
import type { ClientContext } from './context.ts'
import { entryInfo, resolveEntry } from './resolve.ts'

export interface GetOptions {
  signal?: AbortSignal
  /** Bytes written so far, as they are written. */
  onBytes?: (bytes: number) => void
}

export interface GetResult {
  path: string
  files: number
  directories: number
  bytes: number
}

/**
 * Writes the entry at `path` to `out` on local disk: a file, a symlink, or
 * a directory tree. Each file is written to a temporary name and renamed
 * when complete, so an interrupted get never leaves a truncated file under
 * the real name. Existing files are replaced; existing directories merged.
 * A file or symlink whose `out` is an existing directory goes inside it,
 * under its own name (as `cp file dir` does); `result.path` says where.
 */
export async function get (ctx: ClientContext, contentPath: ContentPath, out: string, options: GetOptions = {}): Promise<GetResult> {
  const entry = await resolveEntry(ctx, contentPath, options.signal)
  const into = entryInfo(entry).kind !== 'directory' && await isDirectory(out)
  const target = into ? path.join(out, safeName(contentPath.segments.at(-1) ?? contentPath.root.toString(), contentPath.root.toString())) : out
  const result: GetResult = { path: target, files: 0, directories: 0, bytes: 0 }
  await writeEntry(ctx, entry, target, result, options)
  return result
}

async function isDirectory (file: string): Promise<boolean> {
  // stat, not lstat: a symlink to a directory (-o ~/Downloads) is a directory to write into
  return await stat(file).then((info) => info.isDirectory(), () => false)
}

async function writeEntry (ctx: ClientContext, entry: UnixFSEntry, out: string, result: GetResult, options: GetOptions): Promise<void> {
  options.signal?.throwIfAborted()
  const info = entryInfo(entry)
  if (info.kind === 'directory' && entry.type === 'directory') {
    await mkdirOrThrow(out)
    result.directories++
    for await (const child of entry.entries(options.signal === undefined ? {} : { signal: options.signal })) {
      const name = safeName(child.name, entry.cid.toString())
      const childEntry = await exporter(child.cid, exporterStore(ctx.reader), options.signal === undefined ? {} : { signal: options.signal })
      await writeEntry(ctx, childEntry, path.join(out, name), result, options)
    }
    if (info.mode !== undefined) await chmod(out, info.mode).catch(() => {})
    return
  }
  if (info.kind === 'symlink') {
    await rm(out, { force: true })
    await symlink(info.target ?? '', out).catch((err: unknown) => { throw localError(out, err) })
    result.files++
    return
  }
  const source = entry.type === 'object'
    ? (async function * () { yield entry.node })()
    : readFile(entry.cid, ctx.reader, options.signal === undefined ? {} : { signal: options.signal })
  await writeFileAtomically(out, source, result, options)
  if (info.mode !== undefined) await chmod(out, info.mode).catch(() => {})
  result.files++
}

async function writeFileAtomically (out: string, source: AsyncIterable<Uint8Array>, result: GetResult, options: GetOptions): Promise<void> {
  const temp = path.join(path.dirname(out), `.${path.basename(out)}.cairn-${process.pid}.tmp`)
  let handle
  try {
    handle = await open(temp, 'w', 0o644)
  } catch (err) {
    throw localError(out, err)
  }
  try {
    for await (const chunk of source) {
      try {
        await handle.write(chunk)
      } catch (err) {
        throw localError(out, err)
      }
      result.bytes += chunk.byteLength
      options.onBytes?.(chunk.byteLength)
    }
    await handle.close()
    handle = undefined
    await rename(temp, out).catch((err: unknown) => { throw localError(out, err) })
  } catch (err) {
    await handle?.close().catch(() => {})
    await rm(temp, { force: true })
    throw err
  }
}

async function mkdirOrThrow (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const info = await lstat(dir)
      if (!info.isDirectory()) throw new LocalFileError(`${dir} exists and is not a directory`, { hint: 'choose another output with -o' })
      return
    }
    throw localError(dir, err)
  }
}

/** A directory entry name that is safe to create on disk: no traversal, no separators. */
function safeName (name: string, parent: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new ProtocolError(`directory ${parent} has an entry named ${JSON.stringify(name)}, which cannot be written safely`, {
      hint: 'this DAG was not made by a well-behaved importer; fetch single files from it by path'
    })
  }
  return name
}
