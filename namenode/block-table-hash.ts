/**
 * Hashing and key helpers for BlockTable, kept apart so the table itself
 * reads as slot bookkeeping.
 */
import { randomBytes } from 'node:crypto'

const SHA2_256 = 0x12
const SHA2_256_LENGTH = 32
/** A sha2-256 multihash: code, length, 32-byte digest. */
export const SHA256_MULTIHASH_BYTES = 2 + SHA2_256_LENGTH

/** Whether the multihash is a well-formed sha2-256 one, whose digest the table stores inline. */
export function isSha256 (mh: Uint8Array): boolean {
  return mh.length === SHA256_MULTIHASH_BYTES && mh[0] === SHA2_256 && mh[1] === SHA2_256_LENGTH
}

/**
 * One byte per char, so equal multihashes give equal strings at the least
 * cost; only the rare overflow and fallback maps use it.
 */
export function keyString (mh: Uint8Array): string {
  return Buffer.from(mh.buffer, mh.byteOffset, mh.byteLength).toString('latin1')
}

/**
 * A copy of a multihash to keep (in a map, a work item). Not
 * `Uint8Array.from`: V8 keeps typed arrays under 64 bytes inside its heap
 * and gives one an ArrayBuffer of its own (a malloc, and external memory
 * for the collector to track) the first time anything reads its `.buffer`,
 * as keyString and multiformats do. Buffer.from copies into Node's shared
 * pool instead. A gc condemning 500,000 blocks spent most of its 16.6 s on
 * that before.
 */
export function keptCopy (mh: Uint8Array): Uint8Array {
  return Buffer.from(mh)
}

/** murmur3's finalizer: a bijection on 32 bits that spreads every input bit. */
function fmix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * The slot hash from the first two digest words. Digests are uniformly
 * random, but anyone who can store blocks can also grind digests whose low
 * bits agree (2^20 sha256 per block for a million-slot table) and pile them
 * into one probe run; a per-table secret seed makes that guesswork. Two
 * words, so fixing the first four digest bytes alone collides nothing.
 */
export function slotHash (w0: number, w1: number, seed: number): number {
  return fmix(fmix(w0 ^ seed) ^ w1)
}

export function randomSeed (): number {
  return randomBytes(4).readUInt32LE(0)
}

export function checkDatanode (datanode: number): void {
  if (!Number.isInteger(datanode) || datanode < 0 || datanode >= 0xffff) {
    throw new RangeError(`datanode index must be an integer in [0, 65535), not ${datanode}`)
  }
}

export function checkByte (name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`${name} must be an integer in [0, 255], not ${value}`)
  }
}

export function checkSize (size: number): void {
  if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) {
    throw new RangeError(`block size must be an integer in [0, 2^32), not ${size}`)
  }
}
