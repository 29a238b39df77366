import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { ImportCandidate } from 'ipfs-unixfs-importer'
import { LocalFileError } from '../errors.ts'

/*
 * The walk and the reads of small files are synchronous, on purpose. Each
 * call through libuv's thread pool costs about 70 us of CPU on this class
 * of machine (queueing, a futex wake-up, the completion's event-loop turn,
 * the promise), several times what the system call itself costs for a
 * small file: reading 4,500 files of 1-11 KB took 1.3 CPU-seconds with
 * async lstat, open, stat, read, read, close, and 0.2 with lstat plus one
 * synchronous read. Each call blocks the event loop for microseconds, and
 * the generators below yield between files. Big files are still read
 * asynchronously, a megabyte at a time. This runs in CLI processes (put,
 * files cp); a process that serves a FUSE mount must not use it.
 */

/** Bytes read from a local file per read call; the chunker re-cuts them anyway. */
const READ_BYTES = 1024 * 1024
/** Files at most this big (by their lstat) are read in one synchronous call. */
const SYNC_READ_MAX_BYTES = 256 * 1024
/** Entries a size-measuring walk visits between turns of the event loop (so Ctrl-C is heard). */
const ENTRIES_PER_TURN = 256

export interface LocalSourceInit {
  signal?: AbortSignal
  /** Called with the byte count of every read, for progress. */
  onRead?: (bytes: number) => void
  /** Called for entries that are skipped (sockets, devices inside a tree). */
  onSkip?: (file: string, why: string) => void
}

export interface LocalSize {
  files: number
  bytes: number
  /** False when the size cannot be known ahead (a pipe). */
  known: boolean
}

/** What a put of `target` will read, for progress and ETA. */
export async function measureLocal (target: string): Promise<LocalSize> {
  const info = withLocalError(target, (f) => statSync(f))
  if (info.isFile()) return { files: 1, bytes: info.size, known: true }
  if (!info.isDirectory()) return { files: 1, bytes: 0, known: false }
  const total: LocalSize = { files: 0, bytes: 0, known: true }
  let visited = 0
  const walk = async (dir: string): Promise<void> => {
    for (const entry of readDirSorted(dir)) {
      if (++visited % ENTRIES_PER_TURN === 0) await nextTurn()
      const full = path.join(dir, entry)
      const entryInfo = withLocalError(full, (f) => lstatSync(f))
      if (entryInfo.isDirectory()) await walk(full)
      else if (entryInfo.isFile()) { total.files++; total.bytes += entryInfo.size }
    }
  }
  await walk(target)
  return total
}

/**
 * Import candidates for a local file or directory tree. A directory yields
 * its entries under its own name, so the importer's last entry is the
 * directory (as `ipfs add -r` does). Symlinks become UnixFS symlinks.
 * Hidden files are included: a storage system should not drop files silently
 * (Kubo needs `--hidden` for the same CIDs).
 */
export async function * localSource (target: string, init: LocalSourceInit = {}): AsyncGenerator<ImportCandidate> {
  const info = withLocalError(target, (f) => statSync(f))
  const name = path.basename(path.resolve(target))
  if (!info.isDirectory()) {
    if (!info.isFile() && !info.isFIFO() && !info.isCharacterDevice()) {
      throw new LocalFileError(`${target} is not a regular file or directory`)
    }
    yield { path: name, content: readLocalFile(target, init, info.isFile() ? info.size : undefined) }
    return
  }
  yield * walkDirectory(target, name, init)
}

async function * walkDirectory (dir: string, importPath: string, init: LocalSourceInit): AsyncGenerator<ImportCandidate> {
  init.signal?.throwIfAborted()
  // the directory itself, so an empty one still appears in the DAG
  yield { path: importPath }
  for (const entry of readDirSorted(dir)) {
    const full = path.join(dir, entry)
    const childPath = `${importPath}/${entry}`
    const info = withLocalError(full, (f) => lstatSync(f))
    if (info.isDirectory()) {
      yield * walkDirectory(full, childPath, init)
    } else if (info.isFile()) {
      yield { path: childPath, content: readLocalFile(full, init, info.size) }
    } else if (info.isSymbolicLink()) {
      yield { path: childPath, link: withLocalError(full, (f) => readlinkSync(f, 'utf8')) }
    } else {
      init.onSkip?.(full, 'not a regular file, directory or symlink')
    }
  }
}

/**
 * Streams a file in fresh buffers (the importer may hold on to them) of at
 * most 1 MiB. A regular file is read in pieces no bigger than what is left
 * of it: a fixed 1 MiB buffer per read cost a put of 1,000 small files 2 GiB
 * of allocations and a fifth of its time in the garbage collector. A file
 * that grew since its stat, and a pipe, are read in full-size pieces.
 * `knownSize` (from the walk's lstat) lets a small file be read in one
 * synchronous call (see the top of this file).
 */
export async function * readLocalFile (file: string, init: LocalSourceInit = {}, knownSize?: number): AsyncGenerator<Uint8Array> {
  let position = 0
  if (knownSize !== undefined && knownSize <= SYNC_READ_MAX_BYTES) {
    init.signal?.throwIfAborted()
    const { bytes, complete } = readSmallFile(file, knownSize)
    if (bytes.byteLength > 0) {
      init.onRead?.(bytes.byteLength)
      yield bytes
    }
    if (complete) return
    // it grew since the lstat: read on from where this stopped
    position = bytes.byteLength
  }
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    throw localError(file, err)
  }
  try {
    let left = -1
    let seekable = false
    try {
      const info = await handle.stat()
      seekable = info.isFile()
      if (seekable) left = Math.max(0, info.size - position)
    } catch (err) {
      throw localError(file, err)
    }
    while (true) {
      init.signal?.throwIfAborted()
      // left 0: one byte tells end of file from a file that grew
      const want = left > 0 ? Math.min(READ_BYTES, left) : left === 0 ? 1 : READ_BYTES
      const buffer = Buffer.allocUnsafe(want)
      let bytesRead: number
      try {
        ({ bytesRead } = await handle.read(buffer, 0, want, seekable ? position : null))
      } catch (err) {
        throw localError(file, err)
      }
      if (bytesRead === 0) return
      position += bytesRead
      left = left > 0 ? left - bytesRead : -1
      init.onRead?.(bytesRead)
      yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

/**
 * A file of `size` bytes (by its lstat) read whole in one synchronous call,
 * asking for one byte more: `complete` is false when that byte came too
 * (the file grew, and the rest must be read on).
 */
function readSmallFile (file: string, size: number): { bytes: Buffer, complete: boolean } {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw localError(file, err)
  }
  try {
    const buffer = Buffer.allocUnsafe(size + 1)
    let filled = 0
    while (filled < buffer.byteLength) {
      const n = readSync(fd, buffer, filled, buffer.byteLength - filled, filled)
      if (n === 0) return { bytes: buffer.subarray(0, filled), complete: true }
      filled += n
    }
    return { bytes: buffer, complete: false }
  } catch (err) {
    throw localError(file, err)
  } finally {
    closeSync(fd)
  }
}

function readDirSorted (dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    throw localError(dir, err)
  }
  // byte order, as dag-pb sorts links; keeps the walk deterministic
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

function withLocalError<T extends Stats | string> (file: string, fn: (f: string) => T): T {
  try {
    return fn(file)
  } catch (err) {
    throw localError(file, err)
  }
}

export function localError (file: string, err: unknown): LocalFileError {
  const code = (err as NodeJS.ErrnoException).code
  const reasons: Record<string, [string, string]> = {
    ENOENT: ['no such file or directory', 'check the path; it is relative to the current directory'],
    EACCES: ['permission denied', 'check the file\'s permissions, or run as a user who can read it'],
    EPERM: ['operation not permitted', 'check the file\'s permissions'],
    EISDIR: ['is a directory', 'pass a file, or the directory itself to put it whole'],
    ENOTDIR: ['a component of the path is not a directory', 'check the path'],
    ELOOP: ['too many levels of symbolic links', 'check for a symlink loop'],
    EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n)'],
    ENOSPC: ['no space left on device', 'free some space and try again'],
    EIO: ['input/output error', 'the disk may be failing; check the system log']
  }
  const [reason, hint] = (code !== undefined ? reasons[code] : undefined) ?? [(err as Error).message, undefined]
  return new LocalFileError(`${file}: ${reason}`, hint === undefined ? { cause: err } : { cause: err, hint })
}
