import { closeSync, fchmodSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { chmod, open, rename, rm, stat, symlink, lstat } from 'node:fs/promises'
import path from 'node:path'
import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSDirectory, UnixFSEntry } from 'ipfs-unixfs-exporter'
import { GET_ENTRIES_IN_FLIGHT, GET_FILE_STREAMS, GET_LIST_AHEAD_ENTRIES } from '../constants.ts'
import type { ContentPath } from '../content/cid.ts'
import { directoryEntries } from '../content/list-directory.ts'
import type { Listed } from '../content/list-directory.ts'
import { localError } from '../content/local-source.ts'
import { readFile } from '../content/read-file.ts'
import { LocalFileError, ProtocolError } from '../errors.ts'
import { Semaphore } from '../util/limit.ts'
import { exporterStore } from './context.ts'
import type { ClientContext } from './context.ts'
import { entryInfo, resolveEntry } from './resolve.ts'
import { makeDirectories } from '../util/mkdirs.ts'

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
  const into = entry.type !== 'directory' && await isDirectory(out)
  const target = into ? path.join(out, safeName(contentPath.segments.at(-1) ?? contentPath.root.toString(), contentPath.root.toString())) : out
  const result: GetResult = { path: target, files: 0, directories: 0, bytes: 0 }
  if (entry.type === 'directory') await writeTree(ctx, entry, target, result, options)
  else await writeLeaf(ctx, entry, target, result, options)
  return result
}

async function isDirectory (file: string): Promise<boolean> {
  // stat, not lstat: a symlink to a directory (-o ~/Downloads) is a directory to write into
  return await stat(file).then((info) => info.isDirectory(), () => false)
}

/** A directory whose entries are still being handed out, a batch at a time. */
interface Listing {
  out: string
  cid: string
  entries: AsyncIterator<Listed>
  /** Listed and hinted, not yet handed out; last first. */
  batch: Listed[]
  /** The batch after it, listed while this one is written. */
  next?: Promise<Listed[]>
  listed: boolean
  /** Names handed out so far: a name twice would have two tasks write one path at once. */
  names: Set<string>
}

interface Io {
  signal?: AbortSignal
  onBytes?: (bytes: number) => void
  streams?: Semaphore
}

/**
 * Writes a tree with up to GET_ENTRIES_IN_FLIGHT entries fetched and written
 * at once. Only this loop waits for a slot, and a task never waits for a
 * slot while holding one (a directory it finds goes on `listings` for the
 * loop), so the tree cannot deadlock. The loop takes entries from the most
 * recently found directory first: depth first, so the directories waiting
 * their turn stay near the tree's depth times the slots, not the whole tree.
 */
async function writeTree (ctx: ClientContext, root: UnixFSDirectory, out: string, result: GetResult, options: GetOptions): Promise<void> {
  // the first failure stops the tasks in flight too, so it is reported without waiting out big downloads
  const stop = new AbortController()
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
  const io: Io = { signal, streams: new Semaphore(GET_FILE_STREAMS), ...(options.onBytes === undefined ? {} : { onBytes: options.onBytes }) }
  const slots = new Semaphore(GET_ENTRIES_IN_FLIGHT)
  const listings: Listing[] = []
  const running = new Set<Promise<void>>()
  // applied only once every entry is written: a read-only directory (0o555) would refuse its own children
  const modes: Array<{ dir: string, mode: number }> = []
  const state: { failure?: { error: unknown } } = {}
  const fail = (error: unknown): void => {
    if (state.failure !== undefined) return
    state.failure = { error }
    stop.abort()
  }

  const enter = async (dir: UnixFSDirectory, at: string, nested: boolean): Promise<void> => {
    const mode = entryInfo(dir).mode
    await mkdirOrThrow(at, { nested, moded: mode !== undefined })
    result.directories++
    if (mode !== undefined) modes.push({ dir: at, mode })
    const entries = directoryEntries(ctx.reader, dir, signal)
    listings.push({ out: at, cid: dir.cid.toString(), entries, batch: [], listed: false, names: new Set() })
  }

  const write = async (cid: Listed['cid'], at: string): Promise<void> => {
    const entry = await exporter(cid, exporterStore(ctx.reader), { signal })
    if (entry.type === 'directory') await enter(entry, at, true)
    else await writeLeaf(ctx, entry, at, result, io)
  }

  try {
    await enter(root, out, false)
    while (state.failure === undefined) {
      signal.throwIfAborted()
      const listing = listings.at(-1)
      if (listing === undefined) {
        if (running.size === 0) break
        // a task in flight may yet find a directory
        await Promise.race(running)
        continue
      }
      const child = await nextEntry(ctx, listing)
      if (child === undefined) {
        // by identity: a task may have pushed a directory above it while it was listed
        listings.splice(listings.lastIndexOf(listing), 1)
        continue
      }
      const at = path.join(listing.out, safeName(child.name, listing.cid))
      // a symlink and a directory of one name, written at once, could race a file out through the symlink
      if (listing.names.has(child.name)) {
        throw new ProtocolError(`directory ${listing.cid} names ${JSON.stringify(child.name)} twice, which cannot be written safely`, {
          hint: 'this DAG was not made by a well-behaved importer; fetch single entries from it by path'
        })
      }
      listing.names.add(child.name)
      await slots.acquire()
      if (state.failure !== undefined) {
        slots.release()
        break
      }
      const task: Promise<void> = write(child.cid, at).catch(fail).finally(() => {
        running.delete(task)
        slots.release()
      })
      running.add(task)
    }
  } catch (err) {
    fail(err)
  }
  // settled, so their temp files are gone before the error is reported
  await Promise.all(running)
  // deepest first (a directory is entered after its parent), so a parent's mode cannot lock out a child's chmod;
  // also after a failure: a merged directory's mode is restored, and a rerun loosens it again
  for (const { dir, mode } of modes.reverse()) await chmod(dir, mode).catch(() => {})
  if (state.failure !== undefined) throw state.failure.error
}

/**
 * The next entry of a directory. Entries are listed a batch ahead and
 * hinted, so the namenode locates a batch in one round trip, and a big
 * (sharded) directory's next blocks are fetched while this batch is written.
 */
async function nextEntry (ctx: ClientContext, listing: Listing): Promise<Listed | undefined> {
  if (listing.batch.length === 0 && !listing.listed) {
    // not before the loop gets to it: a directory waiting its turn holds no listed entries
    const batch = await (listing.next ?? listBatch(ctx, listing.entries))
    listing.listed = batch.length < GET_LIST_AHEAD_ENTRIES
    listing.next = listing.listed ? undefined : listBatch(ctx, listing.entries)
    listing.batch = batch.reverse()
  }
  return listing.batch.pop()
}

function listBatch (ctx: ClientContext, entries: AsyncIterator<Listed>): Promise<Listed[]> {
  const listed = (async () => {
    const batch: Listed[] = []
    while (batch.length < GET_LIST_AHEAD_ENTRIES) {
      const next = await entries.next()
      if (next.done === true) break
      batch.push(next.value)
    }
    ctx.reader.hint(batch.map((e) => e.cid))
    return batch
  })()
  // seen when its turn comes; a walk that fails first never awaits it
  listed.catch(() => {})
  return listed
}

async function writeLeaf (ctx: ClientContext, entry: Exclude<UnixFSEntry, UnixFSDirectory>, out: string, result: GetResult, io: Io): Promise<void> {
  io.signal?.throwIfAborted()
  const info = entryInfo(entry)
  if (info.kind === 'symlink') {
    await rm(out, { force: true }).catch((err: unknown) => { throw localError(out, err) })
    await symlink(info.target ?? '', out).catch((err: unknown) => { throw localError(out, err) })
    result.files++
    return
  }
  const whole = wholeContent(entry)
  if (whole !== undefined) {
    writeWholeFileAtomically(out, whole, info.mode, result, io)
  } else {
    await io.streams?.acquire()
    try {
      await writeFileAtomically(out, readFile(entry.cid, ctx.reader, io.signal === undefined ? {} : { signal: io.signal }), info.mode, result, io)
    } finally {
      io.streams?.release()
    }
  }
  result.files++
}

/**
 * The content when the block the exporter fetched is all of it: most small
 * files. Fetching it again through readFile would double their round trips
 * (raw blocks are not kept in the reader's cache).
 */
function wholeContent (entry: Exclude<UnixFSEntry, UnixFSDirectory>): Uint8Array | undefined {
  if (entry.type === 'raw' || entry.type === 'identity' || entry.type === 'object') return entry.node
  if (entry.node.Links.length === 0 && entry.unixfs.blockSizes.length === 0) return entry.unixfs.data ?? new Uint8Array(0)
  return undefined
}

/** Makes a temp name no entry of the DAG is likely to carry, whatever names it holds. */
let temps = 0

function tempNameFor (out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.cairn-${process.pid}-${temps++}.tmp`)
}

async function writeFileAtomically (out: string, source: AsyncIterable<Uint8Array>, mode: number | undefined, result: GetResult, io: Io): Promise<void> {
  const temp = tempNameFor(out)
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
      io.onBytes?.(chunk.byteLength)
    }
    // on the open file, not the path: the file appears under its name with its mode, and no symlink is followed
    if (mode !== undefined) await handle.chmod(mode).catch(() => {})
    await handle.close()
    handle = undefined
    await rename(temp, out).catch((err: unknown) => { throw localError(out, err) })
  } catch (err) {
    await handle?.close().catch(() => {})
    await rm(temp, { force: true })
    throw err
  }
}

/**
 * writeFileAtomically for content already in memory (one block: most small
 * files), with synchronous calls. Each call through libuv's thread pool
 * costs tens of microseconds of CPU on this class of machine, more than
 * writing a small file, and the async path makes four or five of them per
 * file (the same reasoning as core/content/local-source.ts). A block is at
 * most 1 MiB, so the event loop is held for well under a millisecond. This
 * runs in `cairn get`, never in a process that serves a mount.
 */
function writeWholeFileAtomically (out: string, bytes: Uint8Array, mode: number | undefined, result: GetResult, io: Io): void {
  const temp = tempNameFor(out)
  let fd: number | undefined
  try {
    fd = openSync(temp, 'w', 0o644)
  } catch (err) {
    throw localError(out, err)
  }
  try {
    let written = 0
    while (written < bytes.byteLength) {
      try {
        written += writeSync(fd, bytes, written, bytes.byteLength - written)
      } catch (err) {
        throw localError(out, err)
      }
    }
    result.bytes += bytes.byteLength
    io.onBytes?.(bytes.byteLength)
    // on the open file, not the path (as in writeFileAtomically)
    if (mode !== undefined) {
      try { fchmodSync(fd, mode) } catch { /* kept as created, as the async path does */ }
    }
    closeSync(fd)
    fd = undefined
    try {
      renameSync(temp, out)
    } catch (err) {
      throw localError(out, err)
    }
  } catch (err) {
    if (fd !== undefined) try { closeSync(fd) } catch { /* already failing */ }
    rmSync(temp, { force: true })
    throw err
  }
}

/**
 * Creates `dir`, or merges into it. A nested one must be a directory, not a
 * symlink to one: a DAG that names a symlink and a directory alike would
 * otherwise have files written wherever the symlink points. The top one may
 * be a symlink (-o ~/Downloads). When the DAG gives the directory a mode,
 * which is applied when the get ends, an existing one that we could not
 * write into (read-only from an earlier get of the same tree) is opened up
 * for the owner until then.
 */
async function mkdirOrThrow (dir: string, how: { nested: boolean, moded: boolean }): Promise<void> {
  try {
    if (await makeDirectories(dir) !== undefined) return
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw localError(dir, err)
  }
  let info = await lstat(dir).catch((err: unknown) => { throw localError(dir, err) })
  if (!how.nested && info.isSymbolicLink()) info = await stat(dir).catch(() => info)
  if (!info.isDirectory()) throw new LocalFileError(`${dir} exists and is not a directory`, { hint: 'choose another output with -o' })
  if (how.moded && (info.mode & 0o300) !== 0o300) await chmod(dir, (info.mode & 0o7777) | 0o300).catch((err: unknown) => { throw localError(dir, err) })
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
