import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_FRAME_BYTES } from '../constants.ts'
import { ProtocolError } from '../errors.ts'
import type { BufferPool } from '../util/pool.ts'

/** Frames at least this big are copied into pooled buffers when a pool is given. */
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
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private readonly maxFrameBytes: number
  private readonly pool: BufferPool | undefined

  constructor (maxFrameBytes: number = MAX_FRAME_BYTES, pool?: BufferPool) {
    this.maxFrameBytes = maxFrameBytes
    this.pool = pool
  }

  push (chunk: Uint8Array): void {
    this.buffer.append(chunk)
  }

  /** The next whole frame, or undefined when more bytes are needed. */
  next (): Frame | undefined {
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
    if (this.pool !== undefined && frameLength >= POOLED_FRAME_BYTES) {
      const pooled = this.pool.take(frameLength)
      let at = 0
      for (const chunk of this.buffer.sublist(prefix, prefix + frameLength)) {
        pooled.set(chunk, at)
        at += chunk.byteLength
      }
      frame = pooled.subarray(0, frameLength)
      const pool = this.pool
      release = () => { pool.give(pooled) }
    } else {
      frame = this.buffer.subarray(prefix, prefix + frameLength)
    }
    this.buffer.consume(prefix + frameLength)
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

  get bufferedBytes (): number {
    return this.buffer.byteLength
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
