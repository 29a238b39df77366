import { execFile } from 'node:child_process'
import { readFile, readdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { PrivateKey } from '@libp2p/interface'
import { NameTree, nameOfKey, makeDirectories } from '../core/index.ts'
import type { CairnClient, ProfileName } from '../core/index.ts'
import { fuseBindingInfo, fuseNative, fuseOptions } from './binding.ts'
import type { FuseInstance } from './binding.ts'
import { ContentView } from './content-view.ts'
import { Drive } from './drive.ts'
import { DriveSet } from './drives.ts'
import { Journal, journalFile, journalName, replayJournal } from './journal.ts'
import { INSTALL_FUSE_HINT, MountError } from './errors.ts'
import { createOperations } from './operations.ts'

const run = promisify(execFile)

export interface MountInit {
  mountpoint: string
  client: CairnClient
  key: PrivateKey
  replication?: number
  profile?: ProfileName
  readOnly?: boolean
  /** Expose `ipfs/` and `ipns/` at the root. Default false. */
  views?: boolean
  /**
   * The keys this client holds (read again when an unknown name is looked
   * up): with views, `ipns/<name>/` of each is a writable drive. Default:
   * none, so only the mounted name is writable.
   */
  keys?: () => Promise<PrivateKey[]>
  /** Attribute cache and close-to-open check interval. Default 1,000 ms. */
  attrTimeoutMs?: number
  /** Batching window for metadata changes. Default 50 ms. */
  debounceMs?: number
  /** Cluster waits longer than this fail with EIO. Default 30,000 ms. */
  clusterTimeoutMs?: number
  /** Where files being written are spooled (a per-process directory goes inside). */
  spoolDir: string
  /** close returns once the file is spooled locally; storing and publishing follow (see DriveInit). Default false. */
  writeback?: boolean
  log?: (line: string) => void
  debug?: boolean
}

export interface MountedDrive {
  mountpoint: string
  /** The name shown, as k51... */
  name: string
  /** Publishes everything written so far, then unmounts. */
  unmount: () => Promise<void>
}

/** What the kernel's mount table says about a directory. */
async function mountEntry (mountpoint: string): Promise<{ fsname: string, type: string } | undefined> {
  const table = await readFile('/proc/mounts', 'utf8').catch(() => '')
  for (const line of table.split('\n')) {
    const [fsname, at, type] = line.split(' ')
    if (at?.replace(/\\040/g, ' ') === mountpoint && fsname !== undefined && type !== undefined) return { fsname, type }
  }
  return undefined
}

/**
 * A mount left by a process that died answers "Transport endpoint is not
 * connected" (ENOTCONN): detach it so the directory can be mounted again.
 */
export async function cleanStaleMount (mountpoint: string, log: (line: string) => void): Promise<void> {
  try {
    await stat(mountpoint)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MountError(`${mountpoint} does not exist`, { hint: `create it first: mkdir -p ${mountpoint}` })
    if (code === 'EACCES') throw new MountError(`${mountpoint} cannot be reached: permission denied`, { hint: 'mount on a directory you own' })
    if (code !== 'ENOTCONN' && code !== 'ECONNABORTED') throw err
    log(`${mountpoint}: cleaning up a mount left by a process that stopped`)
    await detach(mountpoint)
    return
  }
  const entry = await mountEntry(mountpoint)
  if (entry !== undefined && entry.type.startsWith('fuse')) {
    const pid = /^cairn-(\d+)$/.exec(entry.fsname)?.[1]
    if (pid !== undefined && !alive(Number(pid))) {
      log(`${mountpoint}: cleaning up a mount left by process ${pid}, which stopped`)
      await detach(mountpoint)
      return
    }
    throw new MountError(`${mountpoint} is already mounted (${entry.fsname})`, { hint: `unmount it first: cairn unmount ${mountpoint}` })
  }
}

/** Detaches a FUSE mount with fusermount (lazily: busy files keep working until closed). */
async function detach (mountpoint: string): Promise<void> {
  try {
    await run('fusermount', ['-uz', mountpoint])
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') {
      throw new MountError(`cannot unmount ${mountpoint}: fusermount is not installed`, {
        cause: err,
        hint: INSTALL_FUSE_HINT
      })
    }
    throw new MountError(`fusermount could not unmount ${mountpoint}: ${e.stderr?.trim() ?? e.message}`, { cause: err })
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Spool directories of mounts that died: a write-back journal in one holds
 * changes that mount acknowledged, which are published now (for names
 * whose key is here); the rest of what a dead mount spooled was never
 * acknowledged and goes. A directory whose journal cannot be replayed yet
 * (no key, cluster unreachable) is kept for the next mount.
 */
async function recoverSpools (spoolRoot: string, keys: PrivateKey[], treeOf: (key: PrivateKey) => NameTree, log: (line: string) => void): Promise<void> {
  for (const entry of await readdir(spoolRoot).catch(() => [] as string[])) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue
    const dir = path.join(spoolRoot, entry)
    let kept = 0
    for (const fileName of await readdir(dir).catch(() => [] as string[])) {
      const name = journalName(fileName)
      if (name === undefined) continue
      const key = keys.find((k) => nameOfKey(k.publicKey).text === name)
      if (key === undefined) {
        log(`the mount in process ${pid} left write-back changes to /ipns/${name}, whose key is not here; kept in ${dir} until a mount that holds it`)
        kept++
        continue
      }
      try {
        const result = await replayJournal(path.join(dir, fileName), treeOf(key))
        if (result.replayed > 0) log(`published ${result.replayed} change(s) to /ipns/${name} that the mount in process ${pid} had acknowledged (write-back) before it stopped`)
        if (result.lost.length > 0) log(`could not recover ${result.lost.join(', ')} in /ipns/${name}: their spool files are gone`)
        for (const line of result.dropped) log(`could not publish ${line}; another writer changed /ipns/${name} in a way this change cannot follow, so it is dropped`)
        if (result.unreadable > 0) log(`${result.unreadable} line(s) of the write-back journal of /ipns/${name} were damaged and skipped (a crash mid-write leaves one); the changes on the other lines were published`)
      } catch (err) {
        log(`could not yet publish the write-back changes to /ipns/${name} left by the mount in process ${pid} (${(err as Error).message}); the next mount tries again`)
        kept++
      }
    }
    if (kept === 0) await rm(dir, { recursive: true, force: true })
  }
}

/** Mounts a name's tree at `mountpoint`; resolves once the kernel serves it. */
export async function mountDrive (init: MountInit): Promise<MountedDrive> {
  const mountpoint = path.resolve(init.mountpoint)
  const log = init.log ?? ((line: string) => { process.stderr.write(`cairn mount: ${line}\n`) })
  await cleanStaleMount(mountpoint, log)
  const info = await stat(mountpoint).catch(() => undefined)
  if (info?.isDirectory() !== true) throw new MountError(`${mountpoint} is not a directory`, { hint: 'create it first: mkdir -p <dir>' })
  // FUSE refuses a non-empty directory with a message about itself; say what to do instead
  if ((await readdir(mountpoint)).length > 0) {
    throw new MountError(`${mountpoint} is not empty`, { hint: 'mount on an empty directory (the mount would hide what is there): mkdir a new one' })
  }

  const treeOf = (key: PrivateKey): NameTree => new NameTree(init.client.context, {
    key,
    ...(init.replication === undefined ? {} : { replication: init.replication }),
    ...(init.profile === undefined ? {} : { profile: init.profile })
  })
  await recoverSpools(init.spoolDir, init.keys === undefined ? [init.key] : await init.keys(), treeOf, log)
  const spoolDir = path.join(init.spoolDir, String(process.pid))
  await makeDirectories(spoolDir, 0o700)
  const attrTimeoutMs = init.attrTimeoutMs ?? 1000
  const journals: Journal[] = []
  const openDrive = async (key: PrivateKey): Promise<Drive> => {
    const tree = treeOf(key)
    let journal: Journal | undefined
    if (init.writeback === true && init.readOnly !== true) {
      journal = await Journal.open(journalFile(spoolDir, tree.name.text))
      journals.push(journal)
    }
    return await Drive.open({
      ...(journal === undefined ? {} : { journal }),
      client: init.client,
      tree,
      readOnly: init.readOnly === true,
      attrTimeoutMs,
      debounceMs: init.debounceMs ?? 50,
      spoolDir,
      writeback: init.writeback === true,
      log
    })
  }
  const mainName = nameOfKey(init.key.publicKey).text
  const drives = new DriveSet({
    main: await openDrive(init.key),
    mainName,
    ...(init.keys === undefined ? {} : { keys: init.keys }),
    openDrive
  })
  const Fuse = fuseNative()
  const binding = fuseBindingInfo()
  if (!binding.patchedUtimens) log(`fuse-native's prebuilt binding is in use (${binding.path}): mtimes set by tar -x, cp -p and touch -m are lost; with gcc and libc6-dev installed, npm run build:fuse builds the fixed one`)
  const ops = createOperations({
    drives,
    client: init.client,
    clusterTimeoutMs: init.clusterTimeoutMs ?? 30_000,
    patchedUtimens: binding.patchedUtimens,
    log,
    ...(init.views === true ? { views: { ipfs: new ContentView(init.client, 'ipfs', attrTimeoutMs), ipns: new ContentView(init.client, 'ipns', attrTimeoutMs) } } : {})
  })
  const options = fuseOptions({ attrTimeoutSec: attrTimeoutMs / 1000, readOnly: init.readOnly === true, debug: init.debug === true })
  options.fsname = String(options.fsname).replace(/^cairn/, `cairn-${process.pid}`)
  const fuse: FuseInstance = new Fuse(mountpoint, ops, options)
  await new Promise<void>((resolve, reject) => {
    fuse.mount((err) => { if (err === null || err === undefined) resolve(); else reject(new MountError(`cannot mount ${mountpoint}: ${err.message}`, { cause: err, hint: 'is FUSE installed (apt install fuse libfuse2) and /dev/fuse usable?' })) })
  })

  let unmounting: Promise<void> | undefined
  return {
    mountpoint,
    name: mainName,
    unmount: async () => {
      unmounting ??= (async () => {
        let drained = false
        try {
          // every name written under ipns/ is published too; one failing does not keep the others back
          const failures = (await Promise.allSettled((await drives.drives()).map(async (drive) => { await drive.drain() })))
            .flatMap((r) => r.status === 'rejected' ? [r.reason as unknown] : [])
          if (failures.length > 0) throw failures[0]
          drained = true
        } finally {
          await new Promise<void>((resolve) => {
            fuse.unmount((err) => {
              if (err !== null && err !== undefined) log(`unmount: ${err.message}`)
              resolve()
            })
          })
          for (const journal of journals) await journal.close().catch(() => {})
          // what could not be published stays with its journal for the next mount
          if (drained || journals.length === 0) await rm(spoolDir, { recursive: true, force: true })
          else log(`changes not yet published are kept in ${spoolDir}; the next cairn mount publishes them`)
        }
      })()
      await unmounting
    }
  }
}

/**
 * Unmounts `mountpoint`. A live cairn mount is asked (SIGTERM) to publish
 * what it holds and unmount itself; anything else is detached with fusermount.
 */
export async function unmountDrive (mountpoint: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const at = path.resolve(mountpoint)
  const entry = await mountEntry(at)
  if (entry === undefined) {
    try {
      await stat(at)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTCONN') { await detach(at); return }
    }
    throw new MountError(`${at} is not mounted`)
  }
  const pid = Number(/^cairn-(\d+)$/.exec(entry.fsname)?.[1])
  if (Number.isInteger(pid) && alive(pid)) {
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + (options.timeoutMs ?? 120_000)
    while (Date.now() < deadline) {
      if (await mountEntry(at) === undefined) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new MountError(`the mount at ${at} (process ${pid}) did not finish unmounting in time`, { hint: 'it may still be publishing; try again, or force it with fusermount -uz' })
  }
  await detach(at)
}
