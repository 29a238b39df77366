import { CairnError } from '../core/index.ts'
/** A filesystem operation refused with a POSIX errno (EROFS, EEXIST...). */
export class PosixError extends CairnError {
  static override readonly code = 'ERR_POSIX'
  override name = 'PosixError'
  readonly errno: string

  constructor (errno: string, message: string) {
    super(message)
    this.errno = errno
  }
}

/** A mount point that cannot be used (not a directory, busy, not mounted). */
export class MountError extends CairnError {
  static override readonly code = 'ERR_MOUNT'
  override name = 'MountError'
}

export function posix (errno: string, message: string): PosixError {
  return new PosixError(errno, message)
}
