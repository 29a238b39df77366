/**
 * The binding's ceiling: a minimal fuse-native filesystem that passes every
 * call to a local directory, mounted with the same options as cairn mount.
 * Usage: node passthrough.ts <source dir> <mountpoint>; prints "mounted",
 * unmounts on SIGTERM.
 */
import { open, readdir, rm, stat, mkdir, rmdir, truncate } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { fuseNative, fuseOptions } from '../../fuse/binding.ts'
import type { FuseOps } from '../../fuse/binding.ts'

const [source, mountpoint] = process.argv.slice(2) as [string, string]
const handles = new Map<number, FileHandle>()
let next = 1
const real = (p: string): string => path.join(source, p)
const fail = (err: unknown): number => -((err as { errno?: number }).errno !== undefined ? Math.abs((err as { errno: number }).errno) : 5)
const cb0 = (cb: (e: number) => void) => (p: Promise<unknown>) => { p.then(() => { cb(0) }, (e) => { cb(fail(e)) }) }

const ops: Partial<FuseOps> = {
  getattr: (p, cb) => { stat(real(p)).then((s) => { cb(0, s as never) }, (e) => { cb(fail(e)) }) },
  readdir: (p, cb) => { readdir(real(p)).then((n) => { cb(0, n) }, (e) => { cb(fail(e)) }) },
  open: (p, flags, cb) => { open(real(p), flags).then((h) => { handles.set(next, h); cb(0, next++) }, (e) => { cb(fail(e)) }) },
  create: (p, mode, cb) => { open(real(p), 'w+', mode).then((h) => { handles.set(next, h); cb(0, next++) }, (e) => { cb(fail(e)) }) },
  read: (_p, fd, buf, len, pos, cb) => { (handles.get(fd) as FileHandle).read(buf, 0, len, pos).then((r) => { cb(r.bytesRead) }, (e) => { cb(fail(e)) }) },
  write: (_p, fd, buf, len, pos, cb) => { (handles.get(fd) as FileHandle).write(buf, 0, len, pos).then((r) => { cb(r.bytesWritten) }, (e) => { cb(fail(e)) }) },
  release: (_p, fd, cb) => { const h = handles.get(fd); handles.delete(fd); cb0(cb)(h?.close() ?? Promise.resolve()) },
  flush: (_p, _fd, cb) => { cb(0) },
  fsync: (_p, _d, fd, cb) => { cb0(cb)((handles.get(fd) as FileHandle).sync()) },
  truncate: (p, size, cb) => { cb0(cb)(truncate(real(p), size)) },
  ftruncate: (_p, fd, size, cb) => { cb0(cb)((handles.get(fd) as FileHandle).truncate(size)) },
  unlink: (p, cb) => { cb0(cb)(rm(real(p))) },
  mkdir: (p, mode, cb) => { cb0(cb)(mkdir(real(p), { mode })) },
  rmdir: (p, cb) => { cb0(cb)(rmdir(real(p))) },
  utimens: (_p, _a, _m, cb) => { cb(0) },
  chmod: (_p, _m, cb) => { cb(0) }
}

const Fuse = fuseNative()
const fuse = new Fuse(mountpoint, ops as FuseOps, fuseOptions({ attrTimeoutSec: 1, readOnly: false, debug: false }))
fuse.mount((err) => {
  if (err !== null && err !== undefined) { process.stderr.write(`${err.message}\n`); process.exit(1) }
  process.stdout.write('mounted\n')
})
process.on('SIGTERM', () => { fuse.unmount(() => { process.exit(0) }) })
