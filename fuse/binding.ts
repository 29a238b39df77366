import { createRequire } from 'node:module'
import path from 'node:path'
import { INSTALL_FUSE_HINT, MountError } from './errors.ts'

/** What fuse-native hands a stat callback (times as Dates or epoch ms). */
export interface FuseStat {
  mode: number
  uid: number
  gid: number
  size: number
  nlink: number
  mtime: Date
  atime: Date
  ctime: Date
  blksize?: number
  blocks?: number
}

export interface FuseStatfs {
  bsize: number
  frsize: number
  blocks: number
  bfree: number
  bavail: number
  files: number
  ffree: number
  favail: number
  fsid: number
  flag: number
  namemax: number
}

type Cb<T = never> = [T] extends [never] ? (err: number) => void : (err: number, value?: T) => void

/** The operations fuse-native calls, path-based as libfuse 2's high-level API. Errors are negative errnos. */
export interface FuseOps {
  init?: (cb: Cb) => void
  getattr: (path: string, cb: Cb<FuseStat>) => void
  fgetattr?: (path: string, fd: number, cb: Cb<FuseStat>) => void
  readdir: (path: string, cb: (err: number, names?: string[]) => void) => void
  open: (path: string, flags: number, cb: Cb<number>) => void
  create: (path: string, mode: number, cb: Cb<number>) => void
  read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void) => void
  write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void) => void
  flush: (path: string, fd: number, cb: Cb) => void
  fsync: (path: string, datasync: number, fd: number, cb: Cb) => void
  fsyncdir: (path: string, datasync: number, fd: number, cb: Cb) => void
  release: (path: string, fd: number, cb: Cb) => void
  truncate: (path: string, size: number, cb: Cb) => void
  ftruncate: (path: string, fd: number, size: number, cb: Cb) => void
  unlink: (path: string, cb: Cb) => void
  mkdir: (path: string, mode: number, cb: Cb) => void
  rmdir: (path: string, cb: Cb) => void
  rename: (from: string, to: string, cb: Cb) => void
  symlink: (target: string, path: string, cb: Cb) => void
  readlink: (path: string, cb: Cb<string>) => void
  link: (from: string, to: string, cb: Cb) => void
  chmod: (path: string, mode: number, cb: Cb) => void
  chown: (path: string, uid: number, gid: number, cb: Cb) => void
  /** Times as fuse-native passes them: see utimensMtime for what they mean under each binding. */
  utimens: (path: string, atimeMs: number, mtimeMs: number, cb: Cb) => void
  statfs: (path: string, cb: Cb<FuseStatfs>) => void
  getxattr: (path: string, name: string, position: number, cb: (err: number, value?: Buffer | null) => void) => void
  listxattr: (path: string, cb: (err: number, names?: string[]) => void) => void
  setxattr: (path: string, name: string, value: Buffer, position: number, flags: number, cb: Cb) => void
  removexattr: (path: string, name: string, cb: Cb) => void
  access?: (path: string, mode: number, cb: Cb) => void
  mknod?: (path: string, mode: number, dev: number, cb: Cb) => void
}

export interface FuseInstance {
  mount: (cb: (err: Error | null) => void) => void
  unmount: (cb: (err: Error | null) => void) => void
}

interface FuseClass {
  new (mnt: string, ops: FuseOps, opts: Record<string, unknown>): FuseInstance
  unmount: (mnt: string, cb: (err: Error | null) => void) => void
}

const require = createRequire(import.meta.url)
let loaded: FuseClass | undefined

/** fuse-native, loaded on first use so commands that never mount never need libfuse. */
export function fuseNative (): FuseClass {
  try {
    loaded ??= require('fuse-native') as FuseClass
  } catch (err) {
    // its native binding links libfuse.so.2: missing on a machine without FUSE 2
    if ((err as NodeJS.ErrnoException).code !== 'ERR_DLOPEN_FAILED') throw err
    throw new MountError(`FUSE is not available on this machine: ${(err as Error).message}`, {
      cause: err,
      hint: `${INSTALL_FUSE_HINT}, then mount again`
    })
  }
  return loaded
}

/** The `cairn_utimens_patch` that scripts/build-fuse-binding.mjs compiles in (its PATCH_REVISION). */
const UTIMENS_PATCH_REVISION = 1
/** What the patched binding passes for UTIME_OMIT: 2^53 - 1 ms, exact as a double and no real time. */
export const UTIME_OMIT_MS = Number.MAX_SAFE_INTEGER
/** UTIME_NOW and UTIME_OMIT would reach JS from the prebuilt binding as tv_nsec / 1e6, about 1,073 ms. */
const PREBUILT_SPECIAL_BELOW_MS = 100_000

export interface FuseBindingInfo {
  /** The native file fuse-native loaded. */
  path: string
  /** Built by scripts/build-fuse-binding.mjs: utimens passes the real mtime, UTIME_NOW resolved, UTIME_OMIT as UTIME_OMIT_MS. */
  patchedUtimens: boolean
}

/**
 * Which native binding fuse-native uses: node-gyp-build picks
 * build/Release/fuse.node (the patched build) over the prebuilt one. It
 * is asked the same way fuse-native asks it, and Node loads a native file
 * once per process, so this is the very module the mount runs on.
 */
export function fuseBindingInfo (): FuseBindingInfo {
  fuseNative()
  const dir = path.dirname(require.resolve('fuse-native/package.json'))
  const gypBuild = createRequire(path.join(dir, 'index.js'))('node-gyp-build') as { path: (dir: string) => string }
  const file = gypBuild.path(dir)
  const native = require(file) as { cairn_utimens_patch?: number }
  return { path: file, patchedUtimens: native.cairn_utimens_patch === UTIMENS_PATCH_REVISION }
}

/**
 * The mtime a utimens call asks for: a time in ms, or undefined to leave
 * it as it is (UTIME_OMIT: only the access time changes, which UnixFS
 * does not keep). The prebuilt binding calls utimens only when both times
 * are set, and passes the access time in place of the mtime, so the real
 * mtime is out of reach: the access time is taken, which is right for
 * touch and touch -d (both equal). UTIME_NOW and UTIME_OMIT would arrive
 * there as the same small number; it reads as now, to be safe.
 */
export function utimensMtime (mtimeMs: number, patched: boolean): number | undefined {
  if (patched) return mtimeMs === UTIME_OMIT_MS ? undefined : mtimeMs
  return mtimeMs >= PREBUILT_SPECIAL_BELOW_MS ? mtimeMs : Date.now()
}

export interface MountArgs {
  /** Attribute and entry cache timeout, seconds. */
  attrTimeoutSec: number
  readOnly: boolean
  debug: boolean
}

/**
 * fuse-native has no option for big_writes or max_write, and without
 * big_writes the kernel sends 4 KiB writes (~60 MB/s). It joins its
 * options into one `-o a,b,c` string, so extra options ride in after the
 * fsname value. auto_cache keeps the page cache across opens while a
 * file's size and mtime are unchanged, and drops it when another mount
 * changed the file (close-to-open).
 */
export function fuseOptions (args: MountArgs): Record<string, unknown> {
  const extra = [
    'big_writes', 'max_write=131072', 'max_read=131072', 'auto_cache',
    `attr_timeout=${args.attrTimeoutSec}`, `entry_timeout=${args.attrTimeoutSec}`, 'negative_timeout=0',
    ...(args.readOnly ? ['ro'] : [])
  ]
  return {
    fsname: ['cairn', ...extra].join(','),
    subtype: 'cairn',
    debug: args.debug,
    // fuse-native fails a callback that takes longer; ours time out by themselves
    // (cluster timeout), and storing a large file on close may take minutes
    timeout: { default: 120_000, flush: false, fsync: false, release: false, fsyncdir: false, write: false }
  }
}
