import { randomUUID } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { currentRecord } from '../core/index.ts'
import type { CairnClient, NameTree, TreeEdit } from '../core/index.ts'
import { posix } from './errors.ts'
import { NodeTable, nodeFromBlock, segments } from './node-table.ts'
import type { FsNode } from './node-table.ts'
import type { Journal } from './journal.ts'
import { OpenFile } from './open-file.ts'
import { Publisher } from './publisher.ts'
import { StoreBatcher } from './store-batcher.ts'
import type { ImportCandidate } from 'ipfs-unixfs-importer'

export interface DriveInit {
  client: CairnClient
  tree: NameTree
  readOnly: boolean
  /** How long this mount trusts its view before checking the name for others' changes. */
  attrTimeoutMs: number
  /** Batching window for metadata changes nobody waits on. */
  debounceMs: number
  spoolDir: string
  /**
   * Write-back: `close` returns once the file is in the local spool; its
   * blocks are stored and the name published in the background, in order
   * with the other changes. `fsync` and unmount still wait for the
   * cluster. With `journal`, a crash loses nothing a close acknowledged.
   * Default false: close returns only once stored and published.
   */
  writeback?: boolean
  /** Write-back's journal (see Journal): what closes acknowledged survives a crash of the mount. */
  journal?: Journal
  log: (line: string) => void
}

/** Handles are unique across the drives of a process (a mount holds one drive per writable name); views' start at 2^30. */
let nextHandle = 1

/** Files up to this size are stored in their publish's round (NameTree.prepareSmallFile), held in memory until then. */
const INLINE_FILE_BYTES = 256 * 1024

const O_ACCMODE = 3
/** Write-back files closed but not yet published, at most: past it a close waits (each holds a spool file open). */
const WRITEBACK_MAX_FILES = 256
/** While our own changes are in flight, another writer's are looked for this often. */
const RECHECK_MS = 250
const O_RDONLY = 0
const O_TRUNC = 0o1000

/**
 * The writable tree of one name: every operation is applied here first
 * (so the mount reads its own writes), and queued as an edit of the
 * name's tree. File content is stored on flush/fsync, and those return
 * only once the publish carrying it is done.
 */
export class Drive {
  readonly readOnly: boolean
  private readonly init: DriveInit
  private table: NodeTable
  private readonly publisher: Publisher
  /** Open files by their current path. */
  private readonly open = new Map<string, OpenFile>()
  private readonly handles = new Map<number, OpenFile>()
  private knownSequence: bigint | undefined
  private checkedMs = 0
  private checking?: Promise<void>
  private readonly startMs = Date.now()
  private readonly batcher: StoreBatcher
  private backgroundFiles = 0
  private backgroundWaiters: Array<() => void> = []

  private constructor (init: DriveInit, table: NodeTable, sequence: bigint | undefined) {
    this.init = init
    this.readOnly = init.readOnly
    this.table = table
    this.knownSequence = sequence
    this.checkedMs = Date.now()
    this.batcher = new StoreBatcher({
      store: async (files) => await init.tree.storeFiles(files, randomUUID()),
      maxFiles: WRITEBACK_MAX_FILES,
      maxBytes: 64 * 1024 * 1024
    })
    this.publisher = new Publisher({
      tree: init.tree,
      debounceMs: init.debounceMs,
      log: init.log,
      onPublished: (root, sequence) => {
        // another writer published in between: our view misses their changes until the next check
        if (this.knownSequence !== undefined && sequence !== this.knownSequence + 1n) this.checkedMs = 0
        this.knownSequence = sequence
        this.table.root.cid = root
      },
      // the local view still shows the dropped change: reload it from the name at the next look
      onSettled: (through) => { init.journal?.published(through) },
      onDropped: () => {
        this.knownSequence = undefined
        this.checkedMs = 0
      }
    })
  }

  static async open (init: DriveInit): Promise<Drive> {
    const { table, sequence } = await Drive.load(init, Date.now())
    return new Drive(init, table, sequence)
  }

  private static async load (init: DriveInit, defaultMtimeMs: number): Promise<{ table: NodeTable, sequence: bigint | undefined }> {
    const record = await currentRecord(init.client.context, init.tree.name)
    const root = record === undefined ? undefined : await init.tree.root()
    const node: FsNode = root === undefined
      ? { kind: 'dir', size: 0, mode: 0o755, mtimeMs: defaultMtimeMs, children: new Map() }
      : nodeFromBlock(root, await init.client.reader.get(root), defaultMtimeMs)
    if (node.kind !== 'dir') throw posix('ENOTDIR', `the name ${init.tree.name.text} points to a ${node.kind}, not a directory`)
    return { table: new NodeTable(node, init.client.reader, defaultMtimeMs), sequence: record?.sequence }
  }

  /** Close-to-open: at most every attrTimeoutMs, see whether another writer moved the name on. */
  private async fresh (): Promise<void> {
    if (Date.now() - this.checkedMs < this.init.attrTimeoutMs) return
    // with our own changes in flight the view cannot be reloaded anyway: no round trip (and no
    // wait on it) until they are out; the check after that picks up other writers' changes
    if (!this.publisher.idle || this.backgroundFiles > 0) return
    this.checking ??= (async () => {
      try {
        const record = await currentRecord(this.init.client.context, this.init.tree.name)
        this.checkedMs = Date.now()
        if (record === undefined || record.sequence === this.knownSequence) return
        // our own changes in flight would vanish from view if we reloaded now; look again later
        if (!this.publisher.idle || [...this.open.values()].some((f) => f.dirty)) {
          // look again shortly, not on every call (each look is a round trip)
          this.checkedMs = Date.now() - this.init.attrTimeoutMs + RECHECK_MS
          return
        }
        const { table, sequence } = await Drive.load(this.init, this.startMs)
        this.table = table
        this.knownSequence = sequence
      } finally {
        this.checking = undefined
      }
    })()
    await this.checking
  }

  private writable (): void {
    if (this.readOnly) throw posix('EROFS', 'the mount is read-only')
  }

  async lookup (path: string): Promise<FsNode> {
    await this.fresh()
    const open = this.open.get(path)
    if (open !== undefined) return open.node
    return await this.table.get(path)
  }

  async readdir (path: string): Promise<string[]> {
    const node = await this.lookup(path)
    if (node.kind !== 'dir') throw posix('ENOTDIR', `${path} is not a directory`)
    return [...(await this.table.children(node)).keys()]
  }

  async create (path: string, mode: number): Promise<number> {
    this.writable()
    const { children, dir, name } = await this.table.parent(path)
    if (children.has(name)) throw posix('EEXIST', `${path} exists`)
    const node: FsNode = { kind: 'file', size: 0, mode: mode & 0o7777, mtimeMs: Date.now() }
    children.set(name, node)
    dir.mtimeMs = Date.now()
    const file = this.openFile(path, node)
    file.markNew()
    await file.ensureSpool(true)
    return this.handle(file)
  }

  async openPath (path: string, flags: number): Promise<number> {
    const node = await this.lookup(path)
    if (node.kind === 'dir') throw posix('EISDIR', `${path} is a directory`)
    const writing = (flags & O_ACCMODE) !== O_RDONLY
    if (writing) this.writable()
    const file = this.openFile(path, node)
    try {
      if ((flags & O_TRUNC) !== 0 && writing) await file.truncate(0)
      else if (writing) await file.ensureSpool()
    } catch (err) {
      if (file.refs === 0) this.open.delete(path)
      throw err
    }
    return this.handle(file)
  }

  private openFile (path: string, node: FsNode): OpenFile {
    let file = this.open.get(path)
    if (file === undefined) {
      file = new OpenFile(path, node, this.init.spoolDir, this.init.client.reader)
      this.open.set(path, file)
    }
    return file
  }

  private handle (file: OpenFile): number {
    const fh = nextHandle++
    file.refs++
    this.handles.set(fh, file)
    return fh
  }

  private file (fh: number): OpenFile {
    const file = this.handles.get(fh)
    if (file === undefined) throw posix('EBADF', `no open file ${fh}`)
    return file
  }

  async read (fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    return await this.file(fh).read(buf, length, position)
  }

  async write (fh: number, buf: Buffer, length: number, position: number): Promise<number> {
    this.writable()
    return await this.file(fh).write(buf, length, position)
  }

  async ftruncate (fh: number, size: number): Promise<void> {
    this.writable()
    await this.file(fh).truncate(size)
  }

  async truncate (path: string, size: number): Promise<void> {
    this.writable()
    const open = this.open.get(path)
    if (open !== undefined) { await open.truncate(size); return }
    const fh = await this.openPath(path, 2)
    try {
      await this.file(fh).truncate(size)
      await this.flush(fh)
    } finally {
      await this.release(fh)
    }
  }

  /** Stores the file and waits for the publish that carries it (write-back: queues that, and returns). */
  async flush (fh: number): Promise<void> {
    const file = this.file(fh)
    if (this.init.writeback !== true) { await this.publishFile(file); return }
    if (!this.needsStore(file)) return
    while (this.backgroundFiles >= WRITEBACK_MAX_FILES) await new Promise<void>((resolve) => { this.backgroundWaiters.push(resolve) })
    await this.publishInBackground(file)
  }

  async fsync (fh: number): Promise<void> {
    const file = this.file(fh)
    await file.sync()
    // write-back: what earlier closes queued must be out too before fsync may succeed
    await file.flushing
    if (file.published !== undefined) await this.publisher.waitFor(file.published)
    await this.publishFile(file)
  }

  /**
   * Write-back close: the put is queued now, in order with later renames
   * and removals, while its blocks are stored; the spool stays (and serves
   * reads) until then. With a journal, the close is in the journal before
   * it returns, so a crash of the mount process loses nothing it
   * acknowledged: the next mount replays it.
   */
  private async publishInBackground (file: OpenFile): Promise<void> {
    if (!this.needsStore(file)) return
    const version = file.version
    file.queuedVersion = version
    const stored = file.flushing.then(async () => await this.batcher.store(() => this.candidateOf(file), file.node.size))
    file.flushing = stored.then(() => {}, (err: Error) => {
      this.init.log(`${file.path}: could not be stored (${err.message}); the next close, fsync or unmount tries again`)
      if (file.queuedVersion === version) file.queuedVersion = undefined
    })
    const path = file.path
    const edit = stored.then((cid) => ({ op: 'put' as const, path, cid }))
    // the publisher awaits it in its turn and handles a failure there; until then it must not count as unhandled
    edit.catch(() => {})
    const ticket = this.publisher.enqueue(edit)
    file.published = ticket
    const journal = this.init.journal
    let recorded: Promise<void> = Promise.resolve()
    // writes wait for this: the spool must hold the closed version until its blocks are stored (and,
    // with a journal, until the journal says so, as a replay would otherwise store later bytes)
    const storing: Promise<void> = stored.then(async (cid) => {
      if (journal === undefined) return
      await recorded
      await journal.stored(ticket, cid)
    }).catch(() => {}).finally(() => { if (file.storing === storing) file.storing = undefined })
    file.storing = storing
    this.backgroundFiles++
    let cid: CID | undefined
    void stored.then((c) => { cid = c }, () => {})
    // waited on from now, so it settles before anyone who starts waiting later (unmount's drain)
    // looks at `dirty`; by the time the ticket is out the store has settled too
    void this.publisher.whenPublished(ticket).then(() => {
      if (cid === undefined) return // not stored: the edit was dropped; the file stays dirty for a retry
      file.node.cid = cid
      if (file.version === version) file.dirty = false
    }, () => {}).finally(() => {
      this.backgroundFiles--
      this.backgroundWaiters.shift()?.()
    })
    if (journal !== undefined) {
      // a small file's bytes go in the journal itself: it has no spool file to point to
      const record = file.spoolRecord()
      const where = record === undefined ? { spool: '' } : 'file' in record ? { spool: record.file } : { spool: '', data: record.bytes.toString('base64') }
      const put = { path, ...where, size: file.node.size, mode: file.node.mode, mtimeMs: file.node.mtimeMs }
      file.afterStoring = async () => { await journal.sync() }
      recorded = journal.put(ticket, put)
      await recorded
    }
  }

  /**
   * Queues a change for publishing. In write-back it is journaled before
   * the operation returns, so what a program was told is done survives a
   * crash of the mount.
   */
  private async enqueue (edit: TreeEdit): Promise<number> {
    const ticket = this.publisher.enqueue(edit)
    await this.init.journal?.edit(ticket, edit)
    return ticket
  }

  /** Every close flushes, read-only ones too: only a version not yet queued needs storing. */
  private needsStore (file: OpenFile): boolean {
    return file.dirty && !file.detached && file.queuedVersion !== file.version
  }

  private async storeSpool (file: OpenFile): Promise<CID> {
    return await this.init.tree.storeFile(this.candidateOf(file), randomUUID())
  }

  /** The file as the importer takes it: the spool's bytes, mode and mtime. */
  private candidateOf (file: OpenFile): ImportCandidate[] {
    // never store an empty file in place of bytes that were written
    if (!file.hasSpool && file.node.size > 0) throw posix('EIO', `${file.path}: its spool is gone; nothing stored`)
    const mtimeMs = file.node.mtimeMs
    return [{
      content: file.hasSpool ? file.spoolContent() : new Uint8Array(0),
      mode: file.node.mode,
      mtime: { secs: BigInt(Math.floor(mtimeMs / 1000)), nsecs: Math.floor((mtimeMs % 1000) * 1e6) }
    }]
  }

  private async publishFile (file: OpenFile): Promise<void> {
    const run = file.flushing.then(async () => {
      if (!file.dirty || file.detached) return
      const version = file.version
      // a small file's blocks travel with the publish and are stored with the directory nodes, one
      // round instead of two (not with a journal: it records CIDs, which must then be stored already)
      const inline = this.init.journal === undefined && file.node.size <= INLINE_FILE_BYTES
      const prepared = inline ? await this.init.tree.prepareSmallFile(this.candidateOf(file)) : { cid: await this.storeSpool(file), blocks: undefined }
      if (file.detached) return
      const { cid, blocks } = prepared
      await this.publisher.waitFor(await this.enqueue({ op: 'put', path: file.path, cid, ...(blocks === undefined ? {} : { blocks }) }))
      file.node.cid = cid
      if (file.version === version) file.dirty = false
    })
    file.flushing = run.catch(() => {})
    await run
  }

  async release (fh: number): Promise<void> {
    const file = this.handles.get(fh)
    if (file === undefined) return
    this.handles.delete(fh)
    if (--file.refs > 0) return
    if (this.init.writeback === true && file.published !== undefined) {
      // the spool serves reads until the background store has read it; a failed store keeps it for unmount's retry
      const ticket = file.published
      void file.flushing.then(async () => {
        await this.publisher.whenPublished(ticket).catch(() => {})
        // reopened, changed again, or a later close queued another store: that one's release closes it
        if (file.refs > 0 || (file.dirty && !file.detached) || file.published !== ticket) return
        if (this.open.get(file.path) === file) this.open.delete(file.path)
        await file.close()
      })
      return
    }
    if (this.open.get(file.path) === file) this.open.delete(file.path)
    if (file.dirty && !file.detached) {
      // close already reported the failed flush; one more try before the spool goes
      try {
        await this.publishFile(file)
      } catch (err) {
        this.init.log(`${file.path}: changes could not be stored (${(err as Error).message}); they are lost`)
      }
    }
    await file.close()
  }

  async unlink (path: string): Promise<void> {
    this.writable()
    const { children, dir, name } = await this.table.parent(path)
    const node = children.get(name)
    if (node === undefined) throw posix('ENOENT', `${path} does not exist`)
    if (node.kind === 'dir') throw posix('EISDIR', `${path} is a directory`)
    children.delete(name)
    dir.mtimeMs = Date.now()
    this.detach(path)
    await this.enqueue({ op: 'rm', path })
  }

  async mkdir (path: string, mode: number): Promise<void> {
    this.writable()
    const { children, dir, name } = await this.table.parent(path)
    if (children.has(name)) throw posix('EEXIST', `${path} exists`)
    children.set(name, { kind: 'dir', size: 0, mode: mode & 0o7777, mtimeMs: Date.now(), children: new Map() })
    dir.mtimeMs = Date.now()
    // both queued before either is awaited, so nothing lands between them
    const made = this.enqueue({ op: 'mkdir', path })
    const moded = (mode & 0o7777) !== 0o755 ? this.enqueue({ op: 'chmod', path, mode: mode & 0o7777 }) : undefined
    await Promise.all([made, moded])
  }

  async rmdir (path: string): Promise<void> {
    this.writable()
    const { children, dir, name } = await this.table.parent(path)
    const node = children.get(name)
    if (node === undefined) throw posix('ENOENT', `${path} does not exist`)
    if (node.kind !== 'dir') throw posix('ENOTDIR', `${path} is not a directory`)
    if ((await this.table.children(node)).size > 0) throw posix('ENOTEMPTY', `${path} is not empty`)
    children.delete(name)
    dir.mtimeMs = Date.now()
    await this.enqueue({ op: 'rm', path })
  }

  async rename (from: string, to: string): Promise<void> {
    this.writable()
    const source = await this.table.parent(from)
    const node = source.children.get(source.name)
    if (node === undefined) throw posix('ENOENT', `${from} does not exist`)
    const target = await this.table.parent(to)
    const existing = target.children.get(target.name)
    if (existing === node) return
    if (existing !== undefined) {
      if (node.kind === 'dir' && existing.kind !== 'dir') throw posix('ENOTDIR', `${to} is not a directory`)
      if (node.kind !== 'dir' && existing.kind === 'dir') throw posix('EISDIR', `${to} is a directory`)
      if (existing.kind === 'dir' && (await this.table.children(existing)).size > 0) throw posix('ENOTEMPTY', `${to} is not empty`)
      this.detach(to)
    }
    source.children.delete(source.name)
    target.children.set(target.name, node)
    source.dir.mtimeMs = target.dir.mtimeMs = Date.now()
    // open files below the moved entry follow it
    for (const [openPath, file] of [...this.open]) {
      if (openPath === from || openPath.startsWith(`${from}/`)) {
        this.open.delete(openPath)
        file.path = to + openPath.slice(from.length)
        this.open.set(file.path, file)
      }
    }
    await this.enqueue({ op: 'mv', from, to })
  }

  /** An entry removed or replaced: an open file there keeps its handles but publishes nothing more. */
  private detach (path: string): void {
    for (const [openPath, file] of [...this.open]) {
      if (openPath === path || openPath.startsWith(`${path}/`)) {
        file.detached = true
        this.open.delete(openPath)
      }
    }
  }

  async symlink (target: string, path: string): Promise<void> {
    this.writable()
    const { children, name } = await this.table.parent(path)
    if (children.has(name)) throw posix('EEXIST', `${path} exists`)
    children.set(name, { kind: 'symlink', size: Buffer.byteLength(target), mode: 0o777, mtimeMs: Date.now(), target })
    await this.enqueue({ op: 'symlink', path, target })
  }

  async readlink (path: string): Promise<string> {
    const node = await this.lookup(path)
    if (node.kind !== 'symlink') throw posix('EINVAL', `${path} is not a symlink`)
    return node.target ?? ''
  }

  async chmod (path: string, mode: number): Promise<void> {
    this.writable()
    const node = await this.lookup(path)
    node.mode = mode & 0o7777
    if (segments(path).length === 0 || node.kind === 'symlink') return
    await this.enqueue({ op: 'chmod', path, mode: node.mode })
  }

  /** Sets the mtime; undefined leaves it (an access-time-only change, and UnixFS keeps no access time). */
  async utimens (path: string, mtimeMs: number | undefined): Promise<void> {
    this.writable()
    const node = await this.lookup(path)
    if (mtimeMs === undefined) return
    node.mtimeMs = mtimeMs
    if (segments(path).length === 0 || node.kind === 'symlink') return
    await this.enqueue({ op: 'touch', path, mtimeMs })
  }

  /** Waits until every change made so far is published (fsyncdir, unmount). */
  async drain (): Promise<void> {
    // write-back: let the stores and puts already queued go out first
    for (const file of [...this.open.values()]) await file.flushing
    await this.publisher.waitFor().catch(() => {})
    for (const file of [...this.open.values()]) {
      if (file.dirty) await this.publishFile(file).catch((err: Error) => { this.init.log(`${file.path}: ${err.message}`) })
    }
    await this.publisher.waitFor()
  }

  /** The CID an entry is stored as, or undefined when it has changes not yet stored. */
  async cidOf (path: string): Promise<CID | undefined> {
    const node = await this.lookup(path)
    const open = this.open.get(path)
    if (open?.dirty === true) return undefined
    return node.cid
  }
}
