/**
 * BlockTable's storage: an open-addressing, linear-probing hash table of
 * sha2-256 digests and their fields, in one ArrayBuffer sliced into a typed
 * array per field (52 bytes a slot, no JS object per block). What the
 * fields mean is BlockTable's business; this file only finds, fills, moves
 * and empties slots.
 *
 * Deletion shifts the rest of the probe run back (no tombstones), so any mix
 * of inserts and deletes leaves runs as short as in a fresh table. Capacity
 * doubles at load 0.75 and never shrinks. One buffer per table, so a
 * grown-out-of one is a single large allocation the allocator can return to
 * the OS whole.
 */
import { SHA256_MULTIHASH_BYTES, slotHash } from './block-table-hash.ts'

/**
 * 2^28 slots: 13.7 GB of arrays for up to 201 million blocks (48 TiB of
 * 256 KiB blocks), far past what one namenode process should hold.
 */
export const MAX_CAPACITY = 2 ** 28
export const MIN_CAPACITY = 16
/** 32-bit words of a digest. */
const WORDS = 8
/** Replicas stored in the slot itself. */
export const INLINE = 4
/** Digest 32 + size 4 + firstSeen 4 + replicas 2x4 + want, flags, meta, next want 1 each. */
const SLOT_BYTES = 52
/** meta: OCCUPIED | OVERFLOW (more replicas kept elsewhere) | inline replica count; 0 = empty. */
export const OCCUPIED = 0x80
export const OVERFLOW = 0x08
export const COUNT = 0x07

type Fields = Pick<Slots, 'digests' | 'sizes' | 'seen' | 'reps' | 'wants' | 'flags' | 'meta' | 'next'>

export class Slots {
  capacity = 0
  /** Occupied slots. */
  used = 0
  private mask = 0
  private readonly seed: number
  private buffer = new ArrayBuffer(0)
  // The arrays are replaced on growth: read them through the object, never keep one.
  digests = new Uint32Array(0)
  sizes = new Uint32Array(0)
  seen = new Uint32Array(0)
  reps = new Uint16Array(0)
  wants = new Uint8Array(0)
  flags = new Uint8Array(0)
  meta = new Uint8Array(0)
  /** The want a recount in progress has found so far (BlockTable.beginRecount); 0 otherwise. */
  next = new Uint8Array(0)
  /** The probed digest, copied out of the caller's bytes so it can be read as aligned words. */
  private readonly probeWords = new Uint32Array(WORDS)
  private readonly probeBytes = new Uint8Array(this.probeWords.buffer)
  private readonly mhOut = new Uint8Array(SHA256_MULTIHASH_BYTES)
  /** Told of every entry deleteAt moves back into a hole (a sweep in progress may have passed the hole). */
  onMove: ((from: number, to: number) => void) | undefined

  constructor (capacity: number, seed: number) {
    this.seed = seed
    this.mhOut.set([0x12, 0x20])
    this.allocate(capacity)
  }

  get bytes (): number {
    return this.buffer.byteLength
  }

  /** The slot holding mh (a sha2-256 multihash), or ~slot of the empty slot ending its probe run. */
  find (mh: Uint8Array): number {
    const w = this.probeWords
    const b = this.probeBytes
    for (let i = 0; i < 32; i++) b[i] = mh[i + 2]!
    const w0 = w[0]!
    const w1 = w[1]!
    const d = this.digests
    const meta = this.meta
    const mask = this.mask
    let s = slotHash(w0, w1, this.seed) & mask
    for (;;) {
      if (meta[s] === 0) return ~s
      const o = s * WORDS
      if (d[o] === w0 && d[o + 1] === w1 && d[o + 2] === w[2] && d[o + 3] === w[3] &&
        d[o + 4] === w[4] && d[o + 5] === w[5] && d[o + 6] === w[6] && d[o + 7] === w[7]) return s
      s = (s + 1) & mask
    }
  }

  /**
   * Claims the empty slot `~miss` that the last find returned, for the
   * digest that find probed, growing first if due. The new slot has no
   * replicas, want 0, flags 0; its size and seen are the caller's to set.
   */
  insert (miss: number): number {
    if ((this.used + 1) * 4 > this.capacity * 3) {
      if (this.capacity >= MAX_CAPACITY) throw new RangeError(`BlockTable is full (${this.used} blocks, the most ${MAX_CAPACITY} slots hold)`)
      this.allocate(this.capacity * 2)
      miss = ~this.emptySlotFor(this.probeWords[0]!, this.probeWords[1]!)
    }
    const s = ~miss
    this.digests.set(this.probeWords, s * WORDS)
    this.wants[s] = 0
    this.flags[s] = 0
    this.next[s] = 0
    this.meta[s] = OCCUPIED
    this.used++
    return s
  }

  /** Empties slot s and moves later entries of its run back into the gap, so no probe run is left broken. */
  deleteAt (s: number): void {
    const mask = this.mask
    const d = this.digests
    let hole = s
    for (let j = (s + 1) & mask; this.meta[j] !== 0; j = (j + 1) & mask) {
      const home = slotHash(d[j * WORDS]!, d[j * WORDS + 1]!, this.seed) & mask
      // j may fill the hole only if its home is not after the hole (cyclically, up to j).
      if (((j - home) & mask) < ((j - hole) & mask)) continue
      this.copy(this, j, hole)
      this.onMove?.(j, hole)
      hole = j
    }
    this.meta[hole] = 0
    this.used--
  }

  /** Slot s's multihash, in a view reused by the next call. */
  multihashAt (s: number): Uint8Array {
    this.probeWords.set(this.digests.subarray(s * WORDS, s * WORDS + WORDS))
    this.mhOut.set(this.probeBytes, 2)
    return this.mhOut
  }

  /** Slot s's multihash in new bytes, leaving the probe buffers alone (an insert may be under way). */
  multihashCopy (s: number): Uint8Array {
    const mh = new Uint8Array(SHA256_MULTIHASH_BYTES)
    mh.set([0x12, 0x20])
    mh.set(new Uint8Array(this.digests.buffer, this.digests.byteOffset + s * WORDS * 4, WORDS * 4), 2)
    return mh
  }

  private emptySlotFor (w0: number, w1: number): number {
    let s = slotHash(w0, w1, this.seed) & this.mask
    while (this.meta[s] !== 0) s = (s + 1) & this.mask
    return s
  }

  /** Replaces the arrays with `capacity` slots (a power of two) and reinserts every entry. */
  private allocate (capacity: number): void {
    const old: Fields & { capacity: number } = { capacity: this.capacity, digests: this.digests, sizes: this.sizes, seen: this.seen, reps: this.reps, wants: this.wants, flags: this.flags, meta: this.meta, next: this.next }
    const buffer = new ArrayBuffer(capacity * SLOT_BYTES)
    // Widest fields first, so every view starts aligned.
    this.digests = new Uint32Array(buffer, 0, capacity * WORDS)
    this.sizes = new Uint32Array(buffer, capacity * 32, capacity)
    this.seen = new Uint32Array(buffer, capacity * 36, capacity)
    this.reps = new Uint16Array(buffer, capacity * 40, capacity * INLINE)
    this.wants = new Uint8Array(buffer, capacity * 48, capacity)
    this.flags = new Uint8Array(buffer, capacity * 49, capacity)
    this.meta = new Uint8Array(buffer, capacity * 50, capacity)
    this.next = new Uint8Array(buffer, capacity * 51, capacity)
    this.buffer = buffer
    this.capacity = capacity
    this.mask = capacity - 1
    for (let from = 0; from < old.capacity; from++) {
      if (old.meta[from] === 0) continue
      this.copy(old, from, this.emptySlotFor(old.digests[from * WORDS]!, old.digests[from * WORDS + 1]!))
    }
  }

  private copy (src: Fields, from: number, to: number): void {
    for (let i = 0; i < WORDS; i++) this.digests[to * WORDS + i] = src.digests[from * WORDS + i]!
    for (let i = 0; i < INLINE; i++) this.reps[to * INLINE + i] = src.reps[from * INLINE + i]!
    this.sizes[to] = src.sizes[from]!
    this.seen[to] = src.seen[from]!
    this.wants[to] = src.wants[from]!
    this.flags[to] = src.flags[from]!
    this.meta[to] = src.meta[from]!
    this.next[to] = src.next[from]!
  }
}
