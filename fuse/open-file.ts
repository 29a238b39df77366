import { readFile } from '../core/index.ts'
import type { CairnClient } from '../core/index.ts'
import type { FsNode } from './node-table.ts'
import { RangeReader } from './range-reader.ts'
import { DiskSpool, MEMORY_SPOOL_BYTES, MemorySpool } from './spool.ts'
import type { Spool } from './spool.ts'

type BlockReader = CairnClient['reader']

/**
 * One open file of the mount, shared by every handle on the same path (as
 * an inode is). A file being written lives in a spool (see Spool: in
 * memory while small, else a file on local disk, so a file of any size can
 * be written); the spool holds the whole file (existing content is
 * fetched into it on the first write), and reads then come from it. A
 * file only read is served from its DAG through a RangeReader.
 */
export class OpenFile {
  path: string
  readonly node: FsNode
  refs = 0
  /** Content not yet stored and published. */
  dirty = false
  /** Bumped on every change, so a flush knows whether it captured the latest bytes. */
  version = 0
  /** Removed or replaced while open: its bytes go nowhere on flush. */
  detached = false
  /** Flushes of this file, one at a time. */
  flushing: Promise<void> = Promise.resolve()
  /** Write-back: the publisher's ticket for the last queued put of this file. */
  published?: number
  /** Write-back: the version that put stores. */
  queuedVersion?: number
  /**
   * Write-back: set while a background store is reading the spool. Changes
   * wait for it, so the store captures exactly the version that was closed
   * (never a later one half-written over it).
   */
  storing?: Promise<void>
  /** Run by a change that waited for `storing` (the write-back journal syncs its record). */
  afterStoring?: () => Promise<void>
  private spool?: Spool
  private spooling?: Promise<void>
  /** A memory spool moving to disk: changes wait for it. */
  private spilling?: Promise<void>
  private reader?: RangeReader
  private readonly spoolDir: string
  private readonly blocks: BlockReader

  constructor (filePath: string, node: FsNode, spoolDir: string, blocks: BlockReader) {
    this.path = filePath
    this.node = node
    this.spoolDir = spoolDir
    this.blocks = blocks
  }

  get hasSpool (): boolean {
    return this.spool !== undefined
  }

  /** Where the spool's bytes are: a file, or (in memory) the bytes themselves, for a write-back journal. */
  spoolRecord (): { file: string } | { bytes: Buffer } | undefined {
    const spool = this.spool
    if (spool === undefined) return undefined
    return spool instanceof MemorySpool ? { bytes: spool.snapshot() } : { file: spool.file as string }
  }

  /** Makes the spool, fetching the stored content into it unless `empty`. */
  async ensureSpool (empty = false): Promise<void> {
    if (this.spool !== undefined) return
    this.spooling ??= this.makeSpool(empty)
    try {
      await this.spooling
    } finally {
      this.spooling = undefined
    }
  }

  private async makeSpool (empty: boolean): Promise<void> {
    const stored = !empty && this.node.cid !== undefined && this.node.size > 0 ? this.node.cid : undefined
    if (stored === undefined) {
      this.spool = new MemorySpool()
    } else if (this.node.size <= MEMORY_SPOOL_BYTES) {
      const chunks: Uint8Array[] = []
      for await (const chunk of readFile(stored, this.blocks)) chunks.push(chunk)
      this.spool = new MemorySpool(Buffer.concat(chunks))
    } else {
      this.spool = await DiskSpool.create(this.spoolDir, readFile(stored, this.blocks))
    }
    await this.reader?.close()
    this.reader = undefined
  }

  async read (buf: Buffer, length: number, position: number): Promise<number> {
    if (this.spool !== undefined) return await this.spool.read(buf, length, position)
    if (this.node.cid === undefined) return 0
    this.reader ??= new RangeReader(this.node.cid, this.blocks, this.node.size)
    return await this.reader.read(buf, position, length)
  }

  async write (buf: Buffer, length: number, position: number): Promise<number> {
    await this.waitForStore()
    await this.ensureSpool()
    const written = await this.withRoom(position + length, async (spool) => await spool.write(buf, length, position))
    this.changed(Math.max(this.node.size, position + written))
    return written
  }

  async truncate (size: number): Promise<void> {
    await this.waitForStore()
    await this.ensureSpool(size === 0)
    await this.withRoom(size, async (spool) => { await spool.truncate(size) })
    this.changed(size)
  }

  /**
   * Runs `change` on the spool once it can hold a file reaching `end` (a
   * memory spool too small moves to disk first). `change` is called in the
   * same tick as the check, so a change to a memory spool lands before any
   * move can copy it.
   */
  private async withRoom<T> (end: number, change: (spool: Spool) => Promise<T>): Promise<T> {
    for (;;) {
      if (this.spilling !== undefined) { await this.spilling; continue }
      const spool = this.spool as Spool
      if (!(spool instanceof MemorySpool) || spool.fits(end)) return await change(spool)
      this.spilling = (async () => {
        this.spool = await DiskSpool.create(this.spoolDir, [spool.snapshot()])
      })().finally(() => { this.spilling = undefined })
    }
  }

  private async waitForStore (): Promise<void> {
    if (this.storing === undefined) return
    await this.storing
    await this.afterStoring?.()
  }

  /** The spool's bytes as the importer takes them, read when it asks. */
  spoolContent (): AsyncIterable<Uint8Array> {
    if (this.spool === undefined) throw new Error(`${this.path} has no spool`)
    return this.spool.content(this.node.size)
  }

  /** The spool's bytes reach the disk (an fsync of the mount's file fsyncs its spool too). */
  async sync (): Promise<void> {
    await this.spool?.sync()
  }

  markNew (): void {
    this.changed(0)
  }

  private changed (size: number): void {
    this.node.size = size
    this.node.mtimeMs = Date.now()
    this.dirty = true
    this.version++
  }

  async close (): Promise<void> {
    await this.reader?.close()
    this.reader = undefined
    await this.spilling
    const spool = this.spool
    this.spool = undefined
    await spool?.close()
  }
}
