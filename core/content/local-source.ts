import { open, opendir, lstat, readlink, stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import path from 'node:path'
import type { ImportCandidate } from 'ipfs-unixfs-importer'
import { LocalFileError } from '../errors.ts'

/** Bytes read from a local file per read call; the chunker re-cuts them anyway. */
const READ_BYTES = 1024 * 1024

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
  const info = await statOrThrow(target, stat)
  if (info.isFile()) return { files: 1, bytes: info.size, known: true }
  if (!info.isDirectory()) return { files: 1, bytes: 0, known: false }
  const total: LocalSize = { files: 0, bytes: 0, known: true }
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readDirSorted(dir)) {
      const full = path.join(dir, entry)
      const entryInfo = await statOrThrow(full, lstat)
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
  const info = await statOrThrow(target, stat)
  const name = path.basename(path.resolve(target))
  if (!info.isDirectory()) {
    if (!info.isFile() && !info.isFIFO() && !info.isCharacterDevice()) {
      throw new LocalFileError(`${target} is not a regular file or directory`)
    }
    yield { path: name, content: readLocalFile(target, init) }
    return
  }
  yield * walkDirectory(target, name, init)
}

async function * walkDirectory (dir: string, importPath: string, init: LocalSourceInit): AsyncGenerator<ImportCandidate> {
  init.signal?.throwIfAborted()
  // the directory itself, so an empty one still appears in the DAG
  yield { path: importPath }
  for (const entry of await readDirSorted(dir)) {
    const full = path.join(dir, entry)
    const childPath = `${importPath}/${entry}`
    const info = await statOrThrow(full, lstat)
    if (info.isDirectory()) {
      yield * walkDirectory(full, childPath, init)
    } else if (info.isFile()) {
      yield { path: childPath, content: readLocalFile(full, init) }
    } else if (info.isSymbolicLink()) {
      yield { path: childPath, link: await readlink(full) }
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
 */
export async function * readLocalFile (file: string, init: LocalSourceInit = {}): AsyncGenerator<Uint8Array> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    throw localError(file, err)
  }
  try {
    let left = -1
    try {
      const info = await handle.stat()
      if (info.isFile()) left = info.size
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
        ({ bytesRead } = await handle.read(buffer, 0, want, null))
      } catch (err) {
        throw localError(file, err)
      }
      if (bytesRead === 0) return
      left = left > 0 ? left - bytesRead : -1
      init.onRead?.(bytesRead)
      yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

async function readDirSorted (dir: string): Promise<string[]> {
  const names: string[] = []
  try {
    for await (const entry of await opendir(dir)) names.push(entry.name)
  } catch (err) {
    throw localError(dir, err)
  }
  // byte order, as dag-pb sorts links; keeps the walk deterministic
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

async function statOrThrow (file: string, fn: (f: string) => Promise<Stats>): Promise<Stats> {
  try {
    return await fn(file)
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
