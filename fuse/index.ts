/**
 * The public surface of fuse/: `cairn mount`, the drive. A name's tree (or
 * any content, read-only) as a local filesystem through FUSE.
 */
export { mountDrive, unmountDrive, cleanStaleMount } from './lifecycle.ts'
export type { MountInit, MountedDrive } from './lifecycle.ts'
export { MountError, PosixError } from './errors.ts'
export { XATTR_CID } from './operations.ts'
