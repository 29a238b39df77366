import type { CID } from 'multiformats/cid'
import { readFile } from '../core/index.ts'
import type { BlockGetter } from '../core/index.ts'

/** Bytes kept behind the read position: the kernel's parallel read-ahead arrives slightly out of order. */
const WINDOW_BYTES = 8 * 1024 * 1024
/** A forward jump this small reads through instead of restarting the walk. */
const SKIP_AHEAD_BYTES = 8 * 1024 * 1024
/** Leaves in flight ahead of the reader. */
const READ_AHEAD_BLOCKS = 8

interface Piece { start: number, bytes: Uint8Array }

/**
 * Reads ranges of one immutable file. The DAG is walked once per
 * sequential run (never re-resolved per read, the cause of kubo#2166):
 * a stream from the last position continues, with leaves fetched ahead,
 * and recent pieces are kept so out-of-order reads near the position
 * are served without a restart.
 */
export class RangeReader {
  private readonly cid: CID
  private readonly blocks: BlockGetter
  private readonly size: number
  private stream?: AsyncGenerator<Uint8Array>
  /** Where the stream's next chunk starts. */
  private position = 0
  private window: Piece[] = []
  private windowBytes = 0
  private queue: Promise<unknown> = Promise.resolve()

  constructor (cid: CID, blocks: BlockGetter, size: number) {
    this.cid = cid
    this.blocks = blocks
    this.size = size
  }

  /** Copies up to `length` bytes at `offset` into `out`; returns how many. */
  async read (out: Uint8Array, offset: number, length: number): Promise<number> {
    const run = this.queue.then(async () => await this.readNow(out, offset, length))
    this.queue = run.catch(() => {})
    return await run
  }

  async close (): Promise<void> {
    await this.stream?.return(undefined)
    this.stream = undefined
    this.window = []
  }

  private async readNow (out: Uint8Array, offset: number, length: number): Promise<number> {
    const end = Math.min(this.size, offset + length)
    if (end <= offset) return 0
    if (!this.covers(offset)) {
      if (this.stream === undefined || offset < this.position || offset - this.position > SKIP_AHEAD_BYTES) await this.restart(offset)
    }
    try {
      while (this.position < end) {
        const next = await (this.stream as AsyncGenerator<Uint8Array>).next()
        if (next.done === true) break
        this.keep({ start: this.position, bytes: next.value })
        this.position += next.value.byteLength
      }
    } catch (err) {
      // a failed stream is finished: the next read starts a new one
      this.stream = undefined
      throw err
    }
    let copied = 0
    for (const piece of this.window) {
      const from = Math.max(offset, piece.start)
      const to = Math.min(end, piece.start + piece.bytes.byteLength)
      if (to <= from) continue
      out.set(piece.bytes.subarray(from - piece.start, to - piece.start), from - offset)
      copied = Math.max(copied, to - offset)
    }
    return copied
  }

  private covers (offset: number): boolean {
    const first = this.window[0]
    return first !== undefined && first.start <= offset && offset < this.position
  }

  private async restart (offset: number): Promise<void> {
    await this.stream?.return(undefined)
    this.window = []
    this.windowBytes = 0
    this.position = offset
    this.stream = readFile(this.cid, this.blocks, { offset, readAheadBlocks: READ_AHEAD_BLOCKS })
  }

  private keep (piece: Piece): void {
    this.window.push(piece)
    this.windowBytes += piece.bytes.byteLength
    while (this.windowBytes > WINDOW_BYTES && this.window.length > 1) {
      this.windowBytes -= (this.window.shift() as Piece).bytes.byteLength
    }
  }
}
