import type { CairnClient } from '../core/index.ts'
import { utimensMtime } from './binding.ts'
import type { FuseOps, FuseStat, FuseStatfs } from './binding.ts'
import type { ContentView } from './content-view.ts'
import type { Drive } from './drive.ts'
import type { DriveSet } from './drives.ts'
import { errnoValue, toErrno } from './errno.ts'
import { posix } from './errors.ts'
import type { FsNode } from './node-table.ts'

/** The file-type bits of a mode, and the regular-file type (stat.h). */
const S_IFMT = 0o170000
const S_IFREG = 0o100000

export interface OperationsInit {
  /** The mounted name's drive, and the other held names' under ipns/. */
  drives: DriveSet
  client: CairnClient
  /** `ipfs/` and `ipns/` at the root, when exposed. */
  views?: { ipfs: ContentView, ipns: ContentView }
  /** An operation that waits on the cluster longer than this fails with EIO. */
  clusterTimeoutMs: number
  /** fuse-native runs on the patched binding (fuseBindingInfo); default false, the prebuilt one's times. */
  patchedUtimens?: boolean
  log: (line: string) => void
}

export const XATTR_CID = 'user.cairn.cid'
const STATFS_TTL_MS = 5_000
/** statfs counts in units of this many bytes (fuse-native passes 32-bit counts). */
const FRAGMENT_BYTES = 1024 * 1024

type Route = { drive: Drive, view?: undefined, path: string } | { view: ContentView, drive?: undefined, path: string }

/**
 * The fuse-native operations: each routes its path to the drive or a
 * content view, runs, and answers with a value or a negative errno (one
 * mapping, in errno.ts). Cluster waits are bounded, so no call hangs.
 */
export function createOperations (init: OperationsInit): FuseOps {
  const { drives, views, client, log } = init
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  let statfsCache: { atMs: number, value: FuseStatfs } | undefined

  /** ipfs/... and ipns/<name>/... go to the content views, except names whose key is held: those are drives. */
  async function route (path: string): Promise<Route> {
    if (views === undefined) return { drive: drives.main, path }
    const match = /^\/(ipfs|ipns)(\/.*)?$/.exec(path)
    if (match === null) return { drive: drives.main, path }
    const rest = match[2] ?? '/'
    if (match[1] === 'ipfs') return { view: views.ipfs, path: rest }
    const named = /^\/([^/]+)(\/.*)?$/.exec(rest)
    const drive = named === null ? undefined : await drives.forName(named[1] as string)
    return drive === undefined ? { view: views.ipns, path: rest } : { drive, path: named?.[2] ?? '/' }
  }

  /** The drive and its path, or EROFS for a content view. */
  async function writable (path: string): Promise<{ drive: Drive, path: string }> {
    const r = await route(path)
    if (r.drive === undefined) throw posix('EROFS', `${path} is read-only content (ipns/ is writable only for names whose key you hold)`)
    return r
  }

  function viewOf (fh: number): ContentView | undefined {
    if (views === undefined || fh < 1 << 30) return undefined
    return views.ipfs.owns(fh) ? views.ipfs : views.ipns
  }

  function driveOf (fh: number): Drive {
    const drive = drives.owner(fh)
    if (drive === undefined) throw posix('EBADF', `no open file ${fh}`)
    return drive
  }

  function run<T> (op: string, path: string, work: () => Promise<T>, answer: (value: T) => void, fail: (errno: number) => void, deadlineMs: number | undefined = init.clusterTimeoutMs): void {
    let timer: NodeJS.Timeout | undefined
    let settled = false
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      fn()
    }
    if (deadlineMs !== undefined) {
      timer = setTimeout(() => {
        finish(() => {
          log(`${op} ${path}: no answer from the cluster within ${deadlineMs} ms; failing with EIO`)
          fail(errnoValue('EIO'))
        })
      }, deadlineMs)
    }
    work().then((value) => { finish(() => { answer(value) }) }, (err: unknown) => {
      finish(() => {
        const errno = toErrno(err)
        if (errno.log !== undefined) log(`${op} ${path}: ${errno.name}: ${errno.log}`)
        fail(errno.value)
      })
    })
  }

  function statOf (node: FsNode): FuseStat {
    const type = node.kind === 'dir' ? 0o040000 : node.kind === 'symlink' ? 0o120000 : S_IFREG
    const time = new Date(node.mtimeMs)
    const size = node.kind === 'dir' ? 4096 : node.size
    return { mode: type | node.mode, uid, gid, size, nlink: node.kind === 'dir' ? 2 : 1, mtime: time, atime: time, ctime: time, blksize: 131_072, blocks: Math.ceil(size / 512) }
  }

  async function lookup (path: string): Promise<FsNode> {
    const r = await route(path)
    return r.drive !== undefined ? await r.drive.lookup(r.path) : await r.view.lookup(r.path)
  }

  const ok = (cb: (err: number) => void) => () => { cb(0) }

  return {
    init: (cb) => { cb(0) },
    getattr: (path, cb) => {
      run('getattr', path, async () => statOf(await lookup(path)), (stat) => { cb(0, stat) }, (e) => { cb(e) })
    },
    // a directory lists itself and its parent, as on any local disk (ls -a, and tools that count entries)
    readdir: (path, cb) => {
      run('readdir', path, async () => {
        if (path === '/ipns' && views !== undefined) return await drives.names()
        const r = await route(path)
        if (r.drive === undefined) return await r.view.readdir(r.path)
        const names = await r.drive.readdir(r.path)
        return path === '/' && views !== undefined ? [...names.filter((n) => n !== 'ipfs' && n !== 'ipns'), 'ipfs', 'ipns'] : names
      }, (names) => { cb(0, ['.', '..', ...names]) }, (e) => { cb(e) })
    },
    open: (path, flags, cb) => {
      run('open', path, async () => {
        const r = await route(path)
        return r.drive !== undefined ? drives.track(await r.drive.openPath(r.path, flags), r.drive) : await r.view.open(r.path, flags)
      }, (fh) => { cb(0, fh) }, (e) => { cb(e) })
    },
    create: (path, mode, cb) => {
      run('create', path, async () => {
        const w = await writable(path)
        return drives.track(await w.drive.create(w.path, mode), w.drive)
      }, (fh) => { cb(0, fh) }, (e) => { cb(e) })
    },
    read: (path, fh, buf, len, pos, cb) => {
      run('read', path, async () => {
        const view = viewOf(fh)
        return view === undefined ? await driveOf(fh).read(fh, buf, len, pos) : await view.read(fh, buf, len, pos)
      }, (n) => { cb(n) }, (e) => { cb(e) })
    },
    write: (path, fh, buf, len, pos, cb) => {
      run('write', path, async () => {
        if (viewOf(fh) !== undefined) throw posix('EROFS', 'read-only')
        return await driveOf(fh).write(fh, buf, len, pos)
      }, (n) => { cb(n) }, (e) => { cb(e) }, undefined)
    },
    flush: (path, fh, cb) => {
      if (viewOf(fh) !== undefined) { cb(0); return }
      run('flush', path, async () => { await driveOf(fh).flush(fh) }, ok(cb), (e) => { cb(e) }, undefined)
    },
    fsync: (path, _datasync, fh, cb) => {
      if (viewOf(fh) !== undefined) { cb(0); return }
      run('fsync', path, async () => { await driveOf(fh).fsync(fh) }, ok(cb), (e) => { cb(e) }, undefined)
    },
    fsyncdir: (path, _datasync, _fh, cb) => {
      run('fsyncdir', path, async () => { await (await route(path)).drive?.drain() }, ok(cb), (e) => { cb(e) }, undefined)
    },
    release: (path, fh, cb) => {
      const view = viewOf(fh)
      run('release', path, async () => {
        if (view !== undefined) { await view.release(fh); return }
        const drive = drives.owner(fh)
        drives.untrack(fh)
        await drive?.release(fh)
      }, ok(cb), (e) => { cb(e) }, undefined)
    },
    truncate: (path, size, cb) => {
      run('truncate', path, async () => { const w = await writable(path); await w.drive.truncate(w.path, size) }, ok(cb), (e) => { cb(e) }, undefined)
    },
    ftruncate: (path, fh, size, cb) => {
      run('ftruncate', path, async () => {
        if (viewOf(fh) !== undefined) throw posix('EROFS', 'read-only')
        await driveOf(fh).ftruncate(fh, size)
      }, ok(cb), (e) => { cb(e) }, undefined)
    },
    unlink: (path, cb) => { run('unlink', path, async () => { const w = await writable(path); await w.drive.unlink(w.path) }, ok(cb), (e) => { cb(e) }) },
    mknod: (path, mode, _dev, cb) => {
      run('mknod', path, async () => {
        const w = await writable(path)
        // UnixFS has files, directories and symlinks; FIFOs, sockets and devices cannot be stored
        if ((mode & S_IFMT) !== S_IFREG) throw posix('EPERM', `${path}: only regular files, directories and symlinks can be stored`)
        const fh = await w.drive.create(w.path, mode)
        try {
          await w.drive.flush(fh)
        } finally {
          await w.drive.release(fh)
        }
      }, ok(cb), (e) => { cb(e) })
    },
    mkdir: (path, mode, cb) => { run('mkdir', path, async () => { const w = await writable(path); await w.drive.mkdir(w.path, mode) }, ok(cb), (e) => { cb(e) }) },
    rmdir: (path, cb) => { run('rmdir', path, async () => { const w = await writable(path); await w.drive.rmdir(w.path) }, ok(cb), (e) => { cb(e) }) },
    rename: (from, to, cb) => {
      run('rename', from, async () => {
        const source = await writable(from)
        const target = await writable(to)
        // two names are two filesystems: mv falls back to copy and remove
        if (source.drive !== target.drive) throw posix('EXDEV', `${from} and ${to} are under different names`)
        await source.drive.rename(source.path, target.path)
      }, ok(cb), (e) => { cb(e) })
    },
    symlink: (target, path, cb) => {
      run('symlink', path, async () => { const w = await writable(path); await w.drive.symlink(target, w.path) }, ok(cb), (e) => { cb(e) })
    },
    readlink: (path, cb) => {
      run('readlink', path, async () => {
        const r = await route(path)
        return r.drive !== undefined ? await r.drive.readlink(r.path) : await r.view.readlink(r.path)
      }, (target) => { cb(0, target) }, (e) => { cb(e) })
    },
    // hard links have no UnixFS form; programs that try one (git) fall back to rename
    link: (_from, _to, cb) => { cb(errnoValue('EPERM')) },
    chmod: (path, mode, cb) => { run('chmod', path, async () => { const w = await writable(path); await w.drive.chmod(w.path, mode) }, ok(cb), (e) => { cb(e) }) },
    // owners are not part of UnixFS; every entry belongs to the mounting user
    chown: (path, _uid, _gid, cb) => { run('chown', path, async () => { await writable(path) }, ok(cb), (e) => { cb(e) }) },
    // UnixFS keeps no access time (getattr shows the mtime in its place), so only the mtime is set
    utimens: (path, _atimeMs, mtimeMs, cb) => {
      const when = utimensMtime(mtimeMs, init.patchedUtimens === true)
      run('utimens', path, async () => { const w = await writable(path); await w.drive.utimens(w.path, when) }, ok(cb), (e) => { cb(e) })
    },
    statfs: (path, cb) => {
      run('statfs', path, async () => {
        if (statfsCache !== undefined && Date.now() - statfsCache.atMs < STATFS_TTL_MS) return statfsCache.value
        const report = await client.report()
        const blocks = Math.floor(report.capacityBytes / FRAGMENT_BYTES)
        const free = Math.floor(report.availableBytes / FRAGMENT_BYTES)
        const value: FuseStatfs = { bsize: 131_072, frsize: FRAGMENT_BYTES, blocks, bfree: free, bavail: free, files: 1_000_000, ffree: 1_000_000, favail: 1_000_000, fsid: 0, flag: 0, namemax: 255 }
        statfsCache = { atMs: Date.now(), value }
        return value
      }, (value) => { cb(0, value) }, (e) => { cb(e) })
    },
    getxattr: (path, name, _position, cb) => {
      run('getxattr', path, async () => {
        if (name !== XATTR_CID) return null
        const r = await route(path)
        const cid = r.drive !== undefined ? await r.drive.cidOf(r.path) : (await r.view.lookup(r.path)).cid
        return cid === undefined ? null : Buffer.from(cid.toString())
      }, (value) => { cb(0, value) }, (e) => { cb(e) })
    },
    listxattr: (path, cb) => {
      run('listxattr', path, async () => { await lookup(path); return [XATTR_CID] }, (names) => { cb(0, names) }, (e) => { cb(e) })
    },
    setxattr: (_path, _name, _value, _position, _flags, cb) => { cb(errnoValue('EOPNOTSUPP')) },
    removexattr: (_path, _name, cb) => { cb(errnoValue('EOPNOTSUPP')) }
  }
}
