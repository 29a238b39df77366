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

// lives in core so the CLI can map it to an exit code without loading the FUSE binding
export { MountError } from '../core/index.ts'

/** What to do where FUSE 2 (libfuse.so.2, fusermount) is missing. */
export const INSTALL_FUSE_HINT = 'install FUSE 2 (Debian and Ubuntu: apt-get install -y fuse libfuse2; Fedora: dnf install fuse fuse-libs)'

export function posix (errno: string, message: string): PosixError {
  return new PosixError(errno, message)
}
