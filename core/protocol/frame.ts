import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_FRAME_BYTES } from '../constants.ts'
import { ProtocolError } from '../errors.ts'
import type { BufferPool } from '../util/pool.ts'

/** Frames at least this big get a buffer of their own (pooled when a pool is given), filled as bytes arrive. */
const POOLED_FRAME_BYTES = 64 * 1024

/**
 * A frame is a small encoded header plus an optional opaque body. Block bytes
 * travel as the body so they are never copied through the header codec:
 *
 *   varint(frameLength) varint(headerLength) header body
 */
export interface Frame {
  header: Uint8Array
  body?: Uint8Array
  /** Set when the frame lives in a pooled buffer: call once nothing uses header or body any more. */
  release?: () => void
}

/** The pieces of one frame, to be written in order (no concatenation copy). */
export function encodeFrame (header: Uint8Array, body?: Uint8Array): Uint8Array[] {
  const headerLength = varint.encode(header.byteLength)
  const frameLength = headerLength.byteLength + header.byteLength + (body?.byteLength ?? 0)
  if (frameLength > MAX_FRAME_BYTES) {
    throw new ProtocolError(`frame of ${frameLength} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`)
  }
  const parts = [varint.encode(frameLength), headerLength, header]
  if (body !== undefined && body.byteLength > 0) parts.push(body)
  return parts
}

/**
 * Reassembles frames from a byte stream cut anywhere. Refuses a frame over
 * `maxFrameBytes` before buffering it, so a bad peer cannot make us allocate.
 *
 * A large frame (a block) is copied straight into one buffer of its size
 * as its bytes arrive, rather than kept as a list of chunks and joined at
 * the end: the same one copy, but no list of chunk references to hold, and
 * a stream may hand over chunks it reuses (`transient`).
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private readonly maxFrameBytes: number
  private readonly pool: BufferPool | undefined
  /** The large frame being filled; while set, `buffer` holds only bytes that came after it. */
  private filling: { frame: Uint8Array, filled: number, release: (() => void) | undefined } | undefined

  constructor (maxFrameBytes: number = MAX_FRAME_BYTES, pool?: BufferPool) {
    this.maxFrameBytes = maxFrameBytes
    this.pool = pool
  }

  /** `transient`: the caller reuses `chunk` once this returns, so whatever is kept is copied. */
  push (chunk: Uint8Array, transient = false): void {
    let rest = chunk
    const filling = this.filling
    if (filling !== undefined && filling.filled < filling.frame.byteLength) {
      const n = Math.min(rest.byteLength, filling.frame.byteLength - filling.filled)
      filling.frame.set(n === rest.byteLength ? rest : rest.subarray(0, n), filling.filled)
      filling.filled += n
      rest = rest.subarray(n)
    }
    if (rest.byteLength === 0) return
    // new Uint8Array(x) copies; a Buffer's slice() would not
    this.buffer.append(transient ? new Uint8Array(rest) : rest)
    this.startFilling()
  }

  /** The next whole frame, or undefined when more bytes are needed. */
  next (): Frame | undefined {
    const filling = this.filling
    if (filling !== undefined) {
      if (filling.filled < filling.frame.byteLength) return undefined
      this.filling = undefined
      const frame = this.frameOf(filling.frame, filling.release)
      this.startFilling()
      return frame
    }
    if (this.buffer.byteLength === 0) return undefined
    const frameLength = this.peekVarint(0)
    if (frameLength === undefined) return undefined
    if (frameLength > this.maxFrameBytes) {
      throw new ProtocolError(`peer sent a frame of ${frameLength} bytes, over the ${this.maxFrameBytes}-byte limit`)
    }
    const prefix = varint.encodingLength(frameLength)
    if (this.buffer.byteLength < prefix + frameLength) return undefined

    let frame: Uint8Array
    let release: (() => void) | undefined
    if (frameLength >= POOLED_FRAME_BYTES) {
      ({ frame, release } = this.allocate(frameLength))
      let at = 0
      for (const chunk of this.buffer.sublist(prefix, prefix + frameLength)) {
        frame.set(chunk, at)
        at += chunk.byteLength
      }
    } else {
      frame = this.buffer.subarray(prefix, prefix + frameLength)
    }
    this.buffer.consume(prefix + frameLength)
    const result = this.frameOf(frame, release)
    this.startFilling()
    return result
  }

  get bufferedBytes (): number {
    return this.buffer.byteLength + (this.filling?.filled ?? 0)
  }

  /** When the buffered bytes begin a large frame that is not all here yet, moves them into its own buffer. */
  private startFilling (): void {
    if (this.filling !== undefined || this.buffer.byteLength === 0) return
    let frameLength: number | undefined
    try {
      frameLength = this.peekVarint(0)
    } catch {
      return // next() reports the malformed prefix
    }
    if (frameLength === undefined || frameLength < POOLED_FRAME_BYTES || frameLength > this.maxFrameBytes) return
    const prefix = varint.encodingLength(frameLength)
    if (this.buffer.byteLength >= prefix + frameLength) return // whole: next() takes it
    const { frame, release } = this.allocate(frameLength)
    let filled = 0
    for (const chunk of this.buffer.sublist(prefix)) {
      frame.set(chunk, filled)
      filled += chunk.byteLength
    }
    this.buffer.consume(this.buffer.byteLength)
    this.filling = { frame, filled, release }
  }

  private allocate (frameLength: number): { frame: Uint8Array, release: (() => void) | undefined } {
    if (this.pool === undefined) return { frame: Buffer.allocUnsafeSlow(frameLength), release: undefined }
    const pooled = this.pool.take(frameLength)
    const pool = this.pool
    return { frame: pooled.subarray(0, frameLength), release: () => { pool.give(pooled) } }
  }

  private frameOf (frame: Uint8Array, release: (() => void) | undefined): Frame {
    const headerLength = varint.decode(frame)
    const headerStart = varint.encodingLength(headerLength)
    if (headerStart + headerLength > frame.byteLength) {
      throw new ProtocolError('frame header runs past the end of the frame')
    }
    const header = frame.subarray(headerStart, headerStart + headerLength)
    const body = frame.subarray(headerStart + headerLength)
    const result: Frame = body.byteLength > 0 ? { header, body } : { header }
    if (release !== undefined) result.release = release
    return result
  }

  private peekVarint (offset: number): number | undefined {
    // a varint is at most 8 bytes for any length we accept; wait for more if cut short
    const available = Math.min(this.buffer.byteLength - offset, 9)
    for (let i = 0; i < available; i++) {
      if ((this.buffer.get(offset + i) & 0x80) === 0) {
        return varint.decode(this.buffer.sublist(offset, offset + i + 1))
      }
    }
    if (available >= 9) throw new ProtocolError('frame length prefix is malformed')
    return undefined
  }
}
