import { randomUUID } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import {
  AlreadyExistsError, DirectoryNotEmptyError, InvalidPathError, NotADirectoryError, NotAFileError
} from '../core/index.ts'
import type { NameTree, TreeEdit } from '../core/index.ts'

export interface PublisherInit {
  tree: NameTree
  /** How long metadata changes (mkdir, rename, unlink...) wait to be batched when nobody waits for them. */
  debounceMs: number
  /** Edits in one publish at most. */
  maxBatch?: number
  log: (line: string) => void
  /** Told about each publish: the new root and record sequence. */
  onPublished: (root: CID, sequence: bigint, edits: number) => void
  /** Told each time every ticket up to `through` is published (or dropped). */
  onSettled?: (through: number) => void
  /** Told when an edit could never apply to the name's tree and was dropped (the mount's view is then stale). */
  onDropped?: (edit: TreeEdit, err: Error) => void
}

/**
 * Errors no retry can cure: the edit contradicts the tree another writer
 * published (a directory where a file was, a file where a directory was).
 */
export function isPermanent (err: unknown): boolean {
  return err instanceof NotADirectoryError || err instanceof NotAFileError || err instanceof InvalidPathError ||
    err instanceof AlreadyExistsError || err instanceof DirectoryNotEmptyError
}

export function describe (edit: TreeEdit): string {
  switch (edit.op) {
    case 'put': return edit.blocks === undefined
      ? `the new content of ${edit.path} (stored as ${edit.cid.toString()}; cairn get ${edit.cid.toString()} recovers it)`
      : `the new content of ${edit.path} (${edit.blocks.reduce((n, b) => n + b.bytes.byteLength, 0)} bytes, which were to be stored with this change)`
    case 'mv': return `the rename of ${edit.from} to ${edit.to}`
    default: return `${edit.op} ${edit.path}`
  }
}

/**
 * An edit, or one still being prepared (write-back: the file's blocks are
 * being stored). A pending edit keeps its place in the order: a rename
 * queued after it is applied after it.
 */
type EditOrPending = TreeEdit | Promise<TreeEdit>

interface Queued { edit: EditOrPending, ticket: number, dropped?: boolean }

/**
 * Turns a mount's changes into publishes of the name: edits queue in
 * order, and one publish carries everything queued so far (a group
 * commit). A flush or fsync waits for the publish carrying its file;
 * other changes go out after `debounceMs`. A publish that fails keeps its
 * edits at the head of the queue for the next attempt; whoever waited
 * is told it failed, so nothing unstored is ever acknowledged.
 */
export class Publisher {
  private readonly init: PublisherInit
  private queue: Queued[] = []
  private nextTicket = 1
  /** Every ticket below this is published. */
  private publishedBelow = 1
  private waiters: Array<{ ticket: number, resolve: () => void, reject: (err: Error) => void }> = []
  private running?: Promise<void>
  private timer?: NodeJS.Timeout
  private failures = 0
  /** Tickets up to this one are published one edit at a time, to find the one that cannot apply. */
  private isolateThrough = 0

  constructor (init: PublisherInit) {
    this.init = init
  }

  get idle (): boolean {
    return this.queue.length === 0 && this.running === undefined
  }

  /** Queues an edit (or one being prepared); returns its ticket for `waitFor`. */
  enqueue (edit: EditOrPending): number {
    const ticket = this.nextTicket++
    this.queue.push({ edit, ticket })
    this.schedule(this.init.debounceMs)
    return ticket
  }

  /** Resolves once a publish carried `ticket` (default: everything queued so far). */
  async waitFor (ticket = this.nextTicket - 1): Promise<void> {
    if (ticket < this.publishedBelow) return
    const done = new Promise<void>((resolve, reject) => { this.waiters.push({ ticket, resolve, reject }) })
    this.schedule(0)
    await done
  }

  /** Like waitFor, but leaves the timing to the debounce (write-back closes batch up). */
  async whenPublished (ticket: number): Promise<void> {
    if (ticket < this.publishedBelow) return
    await new Promise<void>((resolve, reject) => { this.waiters.push({ ticket, resolve, reject }) })
  }

  private schedule (delayMs: number): void {
    if (this.running !== undefined) return
    if (this.timer !== undefined) {
      if (delayMs > 0) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.running = this.run().finally(() => {
        this.running = undefined
        if (this.queue.length > 0) this.schedule(this.waiters.length > 0 ? this.backoffMs() : Math.max(this.init.debounceMs, this.backoffMs()))
      })
    }, delayMs)
  }

  private backoffMs (): number {
    return this.failures === 0 ? 0 : Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7))
  }

  private async run (): Promise<void> {
    const head = this.queue[0]
    if (head === undefined) return
    const batch = this.queue.splice(0, head.ticket <= this.isolateThrough ? 1 : this.init.maxBatch ?? 1024)
    const last = (batch.at(-1) as Queued).ticket
    try {
      const edits: TreeEdit[] = []
      for (const q of batch) {
        if (q.dropped === true) continue
        try {
          q.edit = await q.edit
          edits.push(q.edit)
        } catch (err) {
          // a write-back file whose blocks could not be stored: the rest of the batch still goes out
          q.dropped = true
          this.init.log(`a change could not be prepared and is dropped: ${(err as Error).message}`)
        }
      }
      if (edits.length === 0) {
        this.advance(last)
        this.settle((w) => w.ticket <= last, undefined)
        return
      }
      const published = await this.init.tree.apply(edits, randomUUID())
      this.failures = 0
      this.advance(last)
      this.init.onPublished(published.root, BigInt(published.sequence), batch.length)
      this.settle((w) => w.ticket <= last, undefined)
    } catch (err) {
      if (isPermanent(err)) {
        this.setAside(batch, err as Error)
        return
      }
      this.failures++
      this.queue.unshift(...batch)
      this.init.log(`publish of ${batch.length} change(s) failed (${(err as Error).message}); will retry`)
      // those waiting on this batch learn it failed; later ones keep waiting for a retry
      this.settle((w) => w.ticket <= last, err as Error)
    }
  }

  /**
   * An edit that can never apply would otherwise hold every later change
   * back forever. A batch is retried one edit at a time; the edit that
   * fails alone is dropped, loudly: its waiter (a close or fsync) gets the
   * error, and the log says what was lost and how to recover the content.
   */
  private setAside (batch: Queued[], err: Error): void {
    const live = batch.filter((q) => q.dropped !== true)
    if (live.length > 1) {
      this.isolateThrough = (batch.at(-1) as Queued).ticket
      this.queue.unshift(...batch)
      return
    }
    const last = (batch.at(-1) as Queued).ticket
    for (const q of live) {
      q.dropped = true
      const edit = q.edit as TreeEdit
      this.init.log(`could not publish ${describe(edit)}: ${err.message}; another writer changed the tree in a way this change cannot follow, so it is dropped`)
      this.init.onDropped?.(edit, err)
    }
    this.advance(last)
    this.settle((w) => w.ticket <= last, err)
  }

  private advance (last: number): void {
    this.publishedBelow = last + 1
    this.init.onSettled?.(last)
  }

  private settle (match: (w: { ticket: number }) => boolean, err: Error | undefined): void {
    const keep: typeof this.waiters = []
    for (const w of this.waiters) {
      if (!match(w)) keep.push(w)
      else if (err === undefined) w.resolve()
      else w.reject(err)
    }
    this.waiters = keep
  }
}
