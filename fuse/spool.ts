import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'

/** A file being written holds its bytes in memory up to this size, then moves them to a spool file. */
export const MEMORY_SPOOL_BYTES = 64 * 1024
/** Spool files up to this size are read whole for a store, bigger ones streamed. */
const WHOLE_READ_BYTES = 1024 * 1024

/**
 * Where the bytes of a file being written live until they are stored.
 * Small files stay in memory: for a 4 KiB file, creating, writing,
 * reading back and removing a spool file were about a third of a
 * write-back create's time in the mount's handlers. A file that grows
 * past MEMORY_SPOOL_BYTES moves to a spool file on local disk, so a file
 * of any size can be written.
 */
export interface Spool {
  /** The spool file, when the bytes are on disk (what a write-back journal points to). */
  readonly file?: string
  read: (buf: Buffer, length: number, position: number) => Promise<number>
  write: (buf: Buffer, length: number, position: number) => Promise<number>
  truncate: (size: number) => Promise<void>
  /** The bytes reach the local disk (nothing to do in memory: an fsync then stores them in the cluster). */
  sync: () => Promise<void>
  /** The first `size` bytes, as the importer takes them, read when it asks. */
  content: (size: number) => AsyncIterable<Uint8Array>
  close: () => Promise<void>
}

export class MemorySpool implements Spool {
  private bytes: Buffer
  private length = 0

  constructor (initial?: Uint8Array) {
    this.bytes = Buffer.alloc(Math.max(4096, initial?.byteLength ?? 0))
    if (initial !== undefined) {
      this.bytes.set(initial)
      this.length = initial.byteLength
    }
  }

  /** Whether a change reaching `end` still fits in memory. */
  fits (end: number): boolean {
    return end <= MEMORY_SPOOL_BYTES
  }

  async read (buf: Buffer, length: number, position: number): Promise<number> {
    const n = Math.max(0, Math.min(length, this.length - position))
    this.bytes.copy(buf, 0, position, position + n)
    return n
  }

  async write (buf: Buffer, length: number, position: number): Promise<number> {
    this.reserve(position + length)
    buf.copy(this.bytes, position, 0, length)
    this.length = Math.max(this.length, position + length)
    return length
  }

  async truncate (size: number): Promise<void> {
    this.reserve(size)
    // bytes past a shrink read as zeros if the file grows again, as on disk
    if (size < this.length) this.bytes.fill(0, size, this.length)
    this.length = size
  }

  async sync (): Promise<void> {}

  content (size: number): AsyncIterable<Uint8Array> {
    // a copy: the store may still be reading when the next change lands
    return one(Buffer.from(this.bytes.subarray(0, Math.min(size, this.length))))
  }

  /** The bytes, for a spool file or a journal. */
  snapshot (): Buffer {
    return this.bytes.subarray(0, this.length)
  }

  async close (): Promise<void> {}

  private reserve (end: number): void {
    if (end <= this.bytes.byteLength) return
    const grown = Buffer.alloc(Math.max(end, Math.min(2 * this.bytes.byteLength, MEMORY_SPOOL_BYTES)))
    this.bytes.copy(grown, 0, 0, this.length)
    this.bytes = grown
  }
}

export class DiskSpool implements Spool {
  readonly file: string
  private readonly handle: FileHandle

  private constructor (file: string, handle: FileHandle) {
    this.file = file
    this.handle = handle
  }

  /** A new spool file in `dir`, holding `initial` (chunks written in order from the start). */
  static async create (dir: string, initial?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<DiskSpool> {
    const file = path.join(dir, randomUUID())
    const handle = await open(file, 'w+', 0o600)
    try {
      let at = 0
      for await (const chunk of initial ?? []) {
        await handle.write(chunk, 0, chunk.byteLength, at)
        at += chunk.byteLength
      }
    } catch (err) {
      await handle.close()
      await rm(file, { force: true })
      throw err
    }
    return new DiskSpool(file, handle)
  }

  async read (buf: Buffer, length: number, position: number): Promise<number> {
    return (await this.handle.read(buf, 0, length, position)).bytesRead
  }

  async write (buf: Buffer, length: number, position: number): Promise<number> {
    return (await this.handle.write(buf, 0, length, position)).bytesWritten
  }

  async truncate (size: number): Promise<void> {
    await this.handle.truncate(size)
  }

  async sync (): Promise<void> {
    await this.handle.datasync()
  }

  /** A small file is one read through the open handle: a ReadStream cost more than a 4 KiB file's whole import. */
  content (size: number): AsyncIterable<Uint8Array> {
    if (size > WHOLE_READ_BYTES) return createReadStream(this.file, { highWaterMark: 1024 * 1024 })
    return wholeFile(this.handle, size)
  }

  async close (): Promise<void> {
    await this.handle.close()
    await rm(this.file, { force: true })
  }
}

async function * one (bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** Reads `size` bytes from the start of a file (fewer if it is shorter), as one chunk. */
async function * wholeFile (handle: FileHandle, size: number): AsyncGenerator<Uint8Array> {
  const buf = Buffer.allocUnsafe(size)
  let at = 0
  while (at < size) {
    const { bytesRead } = await handle.read(buf, at, size - at, at)
    if (bytesRead === 0) break
    at += bytesRead
  }
  yield buf.subarray(0, at)
}
