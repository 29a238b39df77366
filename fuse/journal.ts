import { createReadStream } from 'node:fs'
import { open, readFile, rm, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { CID } from 'multiformats/cid'
import type { NameTree, TreeEdit } from '../core/index.ts'
import { describe, isPermanent } from './publisher.ts'

/**
 * A write-back close: the file's `size` bytes are in `spool`, or (a file
 * small enough to be spooled in memory) in `data`, base64; its blocks are
 * not yet stored.
 */
interface PendingPut { path: string, spool: string, data?: string, size: number, mode: number, mtimeMs: number }

/** One line of a journal. Tickets are the publisher's, in queue order. */
type Line =
  | { t: number, edit: JsonEdit }
  | { t: number, put: PendingPut }
  | { t: number, cid: string }
  | { through: number }

/** A TreeEdit as JSON (a CID as its string). */
type JsonEdit = Exclude<TreeEdit, { op: 'put' }> | { op: 'put', path: string, cid: string }

/** Where the journal of a name's drive lives, in the mount's spool directory. */
export function journalFile (spoolDir: string, name: string): string {
  return `${spoolDir}/journal-${name}.jsonl`
}

/** The name a journal file belongs to, or undefined for another file. */
export function journalName (fileName: string): string | undefined {
  return /^journal-(.+)\.jsonl$/.exec(fileName)?.[1]
}

/**
 * The write-back journal of one drive: every change queued for publishing,
 * in order, so that what a write-back close acknowledged survives a crash
 * of the mount. The next mount replays what was not yet published
 * (`replayJournal`), as JuiceFS uploads its write-back cache on restart.
 *
 * The journal is written, not synced, at each change: like the spool
 * files, it then survives a crash of the mount process (a bug, an OOM
 * kill, kill -9), which is what write-back has to answer for. A crash of
 * the machine before the kernel writes it out loses those changes, as a
 * local disk's cache would (`fsync` still waits for the cluster). A replay
 * never publishes a spool whose size is not the one recorded (a machine
 * crash can leave it short). Once everything queued is published the file
 * is emptied.
 */
export class Journal {
  private readonly handle: FileHandle
  /** Writes, syncs and truncations, one at a time and in order. */
  private chain: Promise<void> = Promise.resolve()
  private lastTicket = 0
  private failed: Error | undefined

  private constructor (handle: FileHandle) {
    this.handle = handle
  }

  static async open (file: string): Promise<Journal> {
    return new Journal(await open(file, 'a', 0o600))
  }

  /** A change queued for publishing: in the journal when this resolves. */
  async edit (ticket: number, edit: TreeEdit): Promise<void> {
    this.lastTicket = ticket
    await this.append({ t: ticket, edit: toJson(edit) })
  }

  /** A write-back close: in the journal (and out of this process) when this resolves. */
  async put (ticket: number, put: PendingPut): Promise<void> {
    this.lastTicket = ticket
    await this.append({ t: ticket, put })
  }

  /** The blocks of a pending put are stored: recorded before the spool may change again. */
  async stored (ticket: number, cid: CID): Promise<void> {
    await this.append({ t: ticket, cid: cid.toString() })
  }

  /**
   * Syncs what is written so far. Paid only by a change to a file whose
   * store just finished: on a machine crash its spool could otherwise hold
   * later bytes while the journal still says to store it.
   */
  async sync (): Promise<void> {
    const run = this.chain.then(async () => { await this.handle.datasync() })
    this.chain = run.catch((err: Error) => { this.failed ??= err })
    await run
  }

  /** Everything up to `ticket` is published (or dropped); an all-published journal is emptied. */
  published (through: number): void {
    if (through >= this.lastTicket) {
      this.chain = this.chain.then(async () => { await this.handle.truncate(0) }).catch((err: Error) => { this.failed ??= err })
    } else {
      // a failed journal has already failed the close or change that wrote to it
      this.append({ through }).catch(() => {})
    }
  }

  async close (): Promise<void> {
    await this.chain
    await this.handle.close()
  }

  private async append (line: Line): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.failed !== undefined) throw this.failed
      await this.handle.write(`${JSON.stringify(line)}\n`)
    })
    this.chain = run.catch((err: Error) => { this.failed ??= err })
    await run
  }
}

function toJson (edit: TreeEdit): JsonEdit {
  return edit.op === 'put' ? { op: 'put', path: edit.path, cid: edit.cid.toString() } : edit
}

function fromJson (edit: JsonEdit): TreeEdit {
  return edit.op === 'put' ? { op: 'put', path: edit.path, cid: CID.parse(edit.cid) } : edit
}

export interface ReplayResult {
  /** Changes published now. */
  replayed: number
  /** Write-back closes whose spool was gone or not the size closed (nothing trustworthy to store). */
  lost: string[]
  /** Changes another writer's tree no longer allows (a file where a directory was), each described with how to recover it. */
  dropped: string[]
  /** Lines that were not whole JSON (a crash's torn tail, or a damaged disk): skipped, the lines after them kept. */
  unreadable: number
}

/**
 * Publishes what a journal holds beyond its last published ticket: stores
 * the spools of write-back closes whose blocks were not yet stored, then
 * applies every change in order (NameTree.apply: on top of whatever the
 * name points to now, so other writers' changes since are kept). A journal
 * cut short by the crash mid-line loses only that line, which no close
 * had been told was durable; a damaged line elsewhere costs only itself.
 * A change the tree no longer allows is dropped, as the mount's publisher
 * drops it, rather than holding back every other change at every mount.
 */
export async function replayJournal (file: string, tree: NameTree): Promise<ReplayResult> {
  const text = await readFile(file, 'utf8')
  let through = 0
  let unreadable = 0
  const changes = new Map<number, { edit?: TreeEdit, put?: PendingPut, cid?: CID }>()
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue
    let line: Line
    let change: { edit?: TreeEdit, put?: PendingPut, cid?: CID }
    try {
      line = JSON.parse(raw) as Line
      if ('through' in line) { through = Math.max(through, line.through); continue }
      change = changes.get(line.t) ?? {}
      if ('edit' in line) change.edit = fromJson(line.edit)
      else if ('put' in line) change.put = line.put
      else change.cid = CID.parse(line.cid)
    } catch {
      unreadable++
      continue
    }
    changes.set(line.t, change)
  }
  const edits: TreeEdit[] = []
  const lost: string[] = []
  for (const [ticket, change] of [...changes].sort((a, b) => a[0] - b[0])) {
    if (ticket <= through) continue
    if (change.edit !== undefined) { edits.push(change.edit); continue }
    const put = change.put
    if (put === undefined) continue
    let cid = change.cid
    if (cid === undefined) {
      const data = put.data === undefined ? undefined : Buffer.from(put.data, 'base64')
      // no spool and no data is a file closed empty
      if (data === undefined && put.spool !== '' && (await stat(put.spool).catch(() => undefined))?.size !== put.size) { lost.push(put.path); continue }
      if (data !== undefined && data.byteLength !== put.size) { lost.push(put.path); continue }
      cid = await tree.storeFile([{
        content: data ?? (put.spool === '' ? new Uint8Array(0) : createReadStream(put.spool, { highWaterMark: 1024 * 1024 })),
        mode: put.mode,
        mtime: { secs: BigInt(Math.floor(put.mtimeMs / 1000)), nsecs: Math.floor((put.mtimeMs % 1000) * 1e6) }
      }], randomUUID())
    }
    edits.push({ op: 'put', path: put.path, cid })
  }
  const dropped: string[] = []
  let replayed = edits.length
  if (edits.length > 0) {
    try {
      await tree.apply(edits, randomUUID())
    } catch (err) {
      if (!isPermanent(err)) throw err
      // one at a time, to find the ones that cannot apply; the rest go out in order
      replayed = 0
      for (const edit of edits) {
        try {
          await tree.apply([edit], randomUUID())
          replayed++
        } catch (one) {
          if (!isPermanent(one)) throw one
          dropped.push(`${describe(edit)}: ${(one as Error).message}`)
        }
      }
    }
  }
  await rm(file, { force: true })
  return { replayed, lost, dropped, unreadable }
}
