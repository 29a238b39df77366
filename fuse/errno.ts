import { CairnError } from '../core/index.ts'
import { PosixError } from './errors.ts'

/** Linux errno numbers, as fuse-native wants them (negated). */
const ERRNO: Record<string, number> = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EEXIST: 17, EXDEV: 18,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, EFBIG: 27, ENOSPC: 28, EROFS: 30, EMLINK: 31, ENAMETOOLONG: 36,
  ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61, ETIMEDOUT: 110, EOPNOTSUPP: 95, ERANGE: 34
}

/** Cairn's error codes as the errno a program expects (one table, as the CLI has for exit codes). */
const BY_CODE: Record<string, string> = {
  ERR_NOT_FOUND: 'ENOENT',
  ERR_PIN_NOT_FOUND: 'ENOENT',
  ERR_EXISTS: 'EEXIST',
  ERR_NOT_EMPTY: 'ENOTEMPTY',
  ERR_NOT_DIRECTORY: 'ENOTDIR',
  ERR_NOT_FILE: 'EISDIR',
  ERR_INVALID_PATH: 'EINVAL',
  ERR_INVALID_ARGUMENT: 'EINVAL',
  ERR_INVALID_CID: 'ENOENT',
  ERR_DISK_FULL: 'ENOSPC',
  ERR_KEY: 'EACCES',
  ERR_ABORTED: 'EINTR'
}

/** Failures that mean "the cluster could not be reached or answered badly": EIO, with a log line. */
const UNREACHABLE = new Set([
  'ERR_NAMENODE_UNREACHABLE', 'ERR_DATANODE_UNREACHABLE', 'ERR_NO_DATANODES', 'ERR_TIMEOUT',
  'ERR_CONNECTION_CLOSED', 'ERR_BLOCK_NOT_FOUND', 'ERR_SAFE_MODE', 'ERR_NO_CLUSTER'
])

export interface Errno {
  /** Negative errno for fuse-native. */
  value: number
  name: string
  /** Why, for the mount's log, when the cause is worth telling (EIO). */
  log?: string
}

export function toErrno (err: unknown): Errno {
  if (err instanceof PosixError) return make(err.errno)
  if (err instanceof CairnError) {
    const mapped = BY_CODE[err.code]
    if (mapped !== undefined) return make(mapped)
    if (UNREACHABLE.has(err.code)) return make('EIO', `cluster unavailable: ${err.message}`)
    return make('EIO', `${err.name}: ${err.message}`)
  }
  const e = err as NodeJS.ErrnoException | undefined
  // local spool I/O (ENOSPC on the spool disk, ...) keeps its own errno
  if (typeof e?.code === 'string' && ERRNO[e.code] !== undefined) return make(e.code)
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return make('EIO', `timed out: ${e.message}`)
  if (e?.name === 'NotFoundError') return make('ENOENT')
  return make('EIO', `unexpected: ${e?.stack ?? String(err)}`)
}

export function errnoValue (name: string): number {
  return -(ERRNO[name] ?? ERRNO.EIO as number)
}

function make (name: string, log?: string): Errno {
  return log === undefined ? { value: errnoValue(name), name } : { value: errnoValue(name), name, log }
}
