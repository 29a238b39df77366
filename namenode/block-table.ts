/**
 * Where every block lives, for the namenode: size, the datanodes holding a
 * copy, the copies pins want, when it was first seen, and spare flags. One
 * entry per block of the cluster (4 million for 1 TiB of 256 KiB blocks),
 * so no JS object per block: sha2-256 blocks live in 52-byte slots of typed
 * arrays (block-table-slots.ts), about 110 bytes a block at a million
 * blocks counting the free slots, against ~250 for a Map of objects.
 *
 * Rare cases live in Maps behind the same API: blocks whose multihash is
 * not sha2-256 (block-table-fallback.ts), and replicas past the fourth.
 * Limits: MAX_CAPACITY slots (201 million blocks), sizes < 2^32, datanode
 * indexes < 65535, want and flags < 256; beyond them calls throw RangeError.
 */
import type { CID } from 'multiformats/cid'
import { CopyCounts, TAGS } from './block-table-counts.ts'
import { FallbackBlocks } from './block-table-fallback.ts'
import { checkByte, checkDatanode, checkSize, isSha256, keyString, randomSeed } from './block-table-hash.ts'
import { COUNT, INLINE, MAX_CAPACITY, MIN_CAPACITY, OVERFLOW, Slots } from './block-table-slots.ts'

export { MAX_CAPACITY }

export interface BlockInfo {
  /** Block bytes. */
  size: number
  /** Datanode indexes holding a copy, in the order they were added. */
  replicas: number[]
  /** Copies wanted by pins; 0 if unpinned. */
  want: number
  /** Seconds after the table's `epochMs` when the table first heard of the block. */
  firstSeenSec: number
  /** Spare bits for the namenode (e.g. bit 0: a corrupt replica is recorded elsewhere). */
  flags: number
}

/**
 * A pass over every entry made a slice at a time, so that a pass over
 * millions of blocks never holds the event loop for long. Between steps the
 * table may change freely: every entry present from the first step to the
 * last is visited at least once (one that deleteAt moves back past the
 * cursor is remembered and visited; growth starts the pass again); one
 * added meanwhile may or may not be, and an entry may be visited twice.
 */
export interface BlockSweep {
  /**
   * Visits up to `budget` entries (fn may call setFlags, nothing else that
   * changes the table; `mh` is a reused view). True once every entry has
   * been visited: the sweep is then finished.
   */
  step: (budget: number, fn: (mh: Uint8Array, info: BlockInfo) => void) => boolean
  /** Stops an unfinished sweep (the table stops tracking moves for it). */
  close: () => void
}

export interface BlockTableInit {
  /** Slots to start with, rounded up to a power of two (default 1024). */
  initialCapacity?: number
  /** Milliseconds, like Date.now (the default). */
  clock?: () => number
  /** What firstSeenSec counts from, in clock milliseconds (default 0: Unix seconds; uint32 lasts until 2106). */
  epochMs?: number
  /** The slot hash's secret (default random); pass one only to replay a test's exact layout. */
  hashSeed?: number
}

/** The key BlockTable takes: the multihash bytes, so CIDv0/v1 and codecs of the same block agree. */
export function multihashOf (cid: CID): Uint8Array {
  return cid.multihash.bytes
}

export class BlockTable {
  /** What firstSeenSec counts from (clock milliseconds). */
  readonly epochMs: number
  private readonly clock: () => number
  private readonly slots: Slots
  /** Replicas past the fourth, by keyString; present only while the four inline ones are full. */
  private readonly overflow = new Map<string, number[]>()
  private readonly fallback = new FallbackBlocks(() => this.nowSec())
  /** Bumped by every change that can move entries, so forEach can refuse one made under it. */
  private version = 0
  /** Of the slots; the fallback keeps its own. */
  private readonly counts = new CopyCounts()
  /** A recount of wants is under way (beginRecount): raises go to the next wants too. */
  private recounting = false
  /** Sweeps in progress, told of entries moved behind their cursor. */
  private readonly sweeps = new Set<{ cursor: number, missed: Uint8Array[] }>()

  constructor (init: BlockTableInit = {}) {
    this.clock = init.clock ?? Date.now
    this.epochMs = init.epochMs ?? 0
    let capacity = MIN_CAPACITY
    while (capacity < (init.initialCapacity ?? 1024) && capacity < MAX_CAPACITY) capacity *= 2
    this.slots = new Slots(capacity, (init.hashSeed ?? randomSeed()) >>> 0)
  }

  get size (): number {
    return this.slots.used + this.fallback.size
  }

  /** Blocks with at least one copy (entries can also be a want without copies). */
  get storedBlocks (): number {
    return this.counts.stored + this.fallback.counts.stored
  }

  /** Copies recorded on one datanode. */
  copiesOn (datanode: number): number {
    return this.counts.on(datanode) + this.fallback.counts.on(datanode)
  }

  /** Entries whose flags carry this tag (bits 1-3; see block-table-counts.ts). */
  tagged (tag: number): number {
    if (!Number.isInteger(tag) || tag <= 0 || tag >= TAGS) throw new RangeError(`tag must be 1-${TAGS - 1}, not ${tag}`)
    return this.counts.tags[tag]! + this.fallback.counts.tags[tag]!
  }

  /** Bytes of the slot arrays; the Maps for rare cases are not counted. */
  memoryBytes (): number {
    return this.slots.bytes
  }

  has (mh: Uint8Array): boolean {
    return isSha256(mh) ? this.slots.find(mh) >= 0 : this.fallback.has(mh)
  }

  /** A snapshot: later changes to the table do not show in it. */
  get (mh: Uint8Array): BlockInfo | undefined {
    if (!isSha256(mh)) return this.fallback.get(mh)
    const s = this.slots.find(mh)
    return s < 0 ? undefined : this.infoAt(s, mh)
  }

  hasReplica (mh: Uint8Array, datanode: number): boolean {
    if (!isSha256(mh)) return this.fallback.hasReplica(mh, datanode)
    const { slots } = this
    const s = slots.find(mh)
    if (s < 0) return false
    const m = slots.meta[s]!
    for (let i = 0; i < (m & COUNT); i++) if (slots.reps[s * INLINE + i] === datanode) return true
    return (m & OVERFLOW) !== 0 && this.overflow.get(keyString(mh))!.includes(datanode)
  }

  /** Records a copy on a datanode, creating the entry (first seen now) for a new block; `size` replaces the known size. */
  addReplica (mh: Uint8Array, size: number, datanode: number): void {
    checkSize(size)
    checkDatanode(datanode)
    this.version++
    if (!isSha256(mh)) {
      this.fallback.addReplica(mh, size, datanode)
      return
    }
    const { slots } = this
    let s = slots.find(mh)
    if (s < 0) {
      s = slots.insert(s)
      slots.seen[s] = this.nowSec()
    }
    slots.sizes[s] = size
    const m = slots.meta[s]!
    const n = m & COUNT
    const base = s * INLINE
    for (let i = 0; i < n; i++) if (slots.reps[base + i] === datanode) return
    if (n < INLINE) {
      slots.reps[base + n] = datanode
      slots.meta[s] = m + 1
      this.counts.added(datanode, n === 0)
      return
    }
    const key = keyString(mh)
    const more = this.overflow.get(key)
    if (more === undefined) {
      this.overflow.set(key, [datanode])
      slots.meta[s] = m | OVERFLOW
    } else if (!more.includes(datanode)) {
      more.push(datanode)
    } else {
      return
    }
    this.counts.added(datanode, false)
  }

  /** Forgets one copy; the entry goes once it has no copies and no want. */
  removeReplica (mh: Uint8Array, datanode: number): void {
    this.version++
    if (!isSha256(mh)) {
      this.fallback.removeReplica(mh, datanode)
      return
    }
    const s = this.slots.find(mh)
    if (s >= 0) this.removeAt(s, datanode, mh)
  }

  /** Forgets every copy on a datanode: one pass over all slots. */
  dropDatanode (datanode: number): void {
    this.version++
    // A deletion shifts a later entry into slot s, so s is looked at again.
    for (let s = 0; s < this.slots.capacity;) {
      if (this.slots.meta[s] !== 0 && this.removeAt(s, datanode, undefined)) continue
      s++
    }
    this.fallback.dropDatanode(datanode)
  }

  /** Sets the copies wanted, creating an entry without copies (size 0) for an unknown block if want > 0. */
  setWant (mh: Uint8Array, want: number): void {
    checkByte('want', want)
    this.version++
    if (!isSha256(mh)) {
      this.fallback.setWant(mh, want, this.recounting)
      return
    }
    const { slots } = this
    let s = slots.find(mh)
    if (s < 0) {
      if (want === 0) return
      s = slots.insert(s)
      slots.seen[s] = this.nowSec()
      slots.sizes[s] = 0
    }
    slots.wants[s] = want
    // a raise made while a recount walks must outlive its end
    if (this.recounting && slots.next[s]! < want) slots.next[s] = want
    this.collect(s)
  }

  /**
   * Raises a block's want to at least `want`, creating an entry without
   * copies for an unknown block. During a recount the next want rises
   * too, so a pin made while the recount walks is not lost when it ends.
   */
  raiseWant (mh: Uint8Array, want: number): void {
    checkByte('want', want)
    if (want === 0) return
    this.version++
    if (!isSha256(mh)) {
      this.fallback.raiseWant(mh, want, this.recounting)
      return
    }
    const s = this.ensure(mh)
    const { slots } = this
    if (slots.wants[s]! < want) slots.wants[s] = want
    if (this.recounting && slots.next[s]! < want) slots.next[s] = want
  }

  /**
   * Starts a recount of every want: wants stay as they are (they only rise)
   * while recountWant gathers the new ones, which finishRecount puts in
   * place all at once. So the recount can walk the pins a slice at a time
   * and no block ever wants less than it should meanwhile.
   */
  beginRecount (): void {
    if (this.recounting) this.abortRecount()
    this.recounting = true
  }

  get recountInProgress (): boolean {
    return this.recounting
  }

  /** A recount found that a block wants at least `want` copies. */
  recountWant (mh: Uint8Array, want: number): void {
    checkByte('want', want)
    if (!this.recounting) throw new Error('recountWant without beginRecount')
    if (want === 0) return
    this.version++
    if (!isSha256(mh)) {
      this.fallback.recountWant(mh, want)
      return
    }
    const s = this.ensure(mh)
    if (this.slots.next[s]! < want) this.slots.next[s] = want
  }

  /** Every want becomes what the recount found (or was raised to meanwhile); entries left with no want and no copies go. */
  finishRecount (): void {
    if (!this.recounting) throw new Error('finishRecount without beginRecount')
    this.version++
    const { slots } = this
    // two passes: a deletion moves entries, and one moved back past the cursor must not be set twice
    for (let s = 0; s < slots.capacity; s++) {
      if (slots.meta[s] === 0) continue
      slots.wants[s] = slots.next[s]!
      slots.next[s] = 0
    }
    this.collectAll()
    this.fallback.finishRecount()
    this.recounting = false
  }

  /** Drops a recount: wants stay as they are; entries only it had kept go. */
  abortRecount (): void {
    this.version++
    this.slots.next.fill(0)
    this.collectAll()
    this.fallback.abortRecount()
    this.recounting = false
  }

  /** Sets the flags byte of a known block; does nothing for an unknown one. */
  setFlags (mh: Uint8Array, flags: number): void {
    checkByte('flags', flags)
    // No version bump: it moves nothing, so forEach callbacks may clear flags as they go.
    if (!isSha256(mh)) {
      this.fallback.setFlags(mh, flags)
      return
    }
    const s = this.slots.find(mh)
    if (s < 0) return
    this.counts.retagged(this.slots.flags[s]!, flags)
    this.slots.flags[s] = flags
  }

  /**
   * Calls fn for every entry, in no particular order. `mh` is a view the
   * table reuses for the next call: copy it (`Uint8Array.from(mh)`) to keep
   * it; `info` is fn's to keep. fn may read the table and call setFlags,
   * nothing else that changes it (forEach throws: an insert or delete moves
   * entries, so some would be skipped or seen twice); collect what to change
   * and change it afterwards.
   */
  forEach (fn: (mh: Uint8Array, info: BlockInfo) => void): void {
    const sweep = this.sweep()
    try {
      sweep.step(Number.POSITIVE_INFINITY, fn)
    } finally {
      sweep.close()
    }
  }

  /** See BlockSweep. */
  sweep (): BlockSweep {
    const { slots } = this
    const tracked = { cursor: 0, missed: [] as Uint8Array[] }
    let capacity = slots.capacity
    let fallbackDone = false
    let closed = false
    this.sweeps.add(tracked)
    this.trackMoves()
    const close = (): void => {
      closed = true
      this.sweeps.delete(tracked)
      this.trackMoves()
    }
    const step = (budget: number, fn: (mh: Uint8Array, info: BlockInfo) => void): boolean => {
      if (closed) return true
      // growth rehashed every entry: only a pass from the start visits them all
      if (slots.capacity !== capacity) {
        capacity = slots.capacity
        tracked.cursor = 0
        tracked.missed = []
      }
      const version = this.version
      const changed = (): void => {
        if (this.version !== version) throw new Error('BlockTable changed during forEach (or a sweep\'s step)')
      }
      let visited = 0
      while (tracked.missed.length > 0 && visited < budget) {
        const mh = tracked.missed.pop() as Uint8Array
        const s = slots.find(mh)
        if (s < 0) continue
        fn(mh, this.infoAt(s, mh))
        changed()
        visited++
      }
      // empty slots cost little, but a sparse table must not make one step long either
      for (let scanned = 0; tracked.cursor < capacity && visited < budget && scanned < budget * 16; scanned++) {
        const s = tracked.cursor++
        if (slots.meta[s] === 0) continue
        const mh = slots.multihashAt(s)
        fn(mh, this.infoAt(s, mh))
        changed()
        visited++
      }
      if (tracked.cursor < capacity || tracked.missed.length > 0) return false
      if (!fallbackDone) {
        this.fallback.forEach((mh, info) => {
          fn(mh, info)
          changed()
        })
        fallbackDone = true
      }
      close()
      return true
    }
    return { step, close }
  }

  /** Only while a sweep runs: deleteAt then reports the entries it moves back. */
  private trackMoves (): void {
    this.slots.onMove = this.sweeps.size === 0
      ? undefined
      : (from, to) => {
          for (const sweep of this.sweeps) {
            // moved from where the cursor has yet to go to where it has been
            if (to < sweep.cursor && sweep.cursor <= from) sweep.missed.push(this.slots.multihashCopy(to))
          }
        }
  }

  /** The slot of mh (sha2-256), inserting an entry (first seen now, size 0) if there is none. */
  private ensure (mh: Uint8Array): number {
    const { slots } = this
    let s = slots.find(mh)
    if (s < 0) {
      s = slots.insert(s)
      slots.seen[s] = this.nowSec()
      slots.sizes[s] = 0
    }
    return s
  }

  /** Deletes every entry with no want and no copies. */
  private collectAll (): void {
    for (let s = 0; s < this.slots.capacity;) {
      if (this.slots.meta[s] !== 0 && this.collect(s)) continue
      s++
    }
  }

  /**
   * Removes a datanode from slot s's replicas, keeping the others in order
   * (the first overflow one moves inline). True if that left the entry
   * empty and deleted it, moving another entry into s.
   */
  private removeAt (s: number, datanode: number, mh: Uint8Array | undefined): boolean {
    const { slots } = this
    const m = slots.meta[s]!
    const n = m & COUNT
    const base = s * INLINE
    let at = 0
    while (at < n && slots.reps[base + at] !== datanode) at++
    if (at === n && (m & OVERFLOW) === 0) return false
    if ((m & OVERFLOW) === 0) {
      slots.reps.copyWithin(base + at, base + at + 1, base + n)
      slots.meta[s] = m - 1
      this.counts.removed(datanode, n === 1)
      return this.collect(s)
    }
    const key = keyString(mh ?? slots.multihashAt(s))
    const more = this.overflow.get(key)!
    if (at < n) {
      slots.reps.copyWithin(base + at, base + at + 1, base + n)
      slots.reps[base + INLINE - 1] = more.shift()!
    } else {
      const i = more.indexOf(datanode)
      if (i < 0) return false
      more.splice(i, 1)
    }
    this.counts.removed(datanode, false)
    if (more.length === 0) {
      this.overflow.delete(key)
      slots.meta[s] = m & ~OVERFLOW
    }
    return false
  }

  /** Deletes slot s if it has no replicas, no want and no next want; true if it did. */
  private collect (s: number): boolean {
    // an entry a recount in progress found wanted stays for its end
    if ((this.slots.meta[s]! & (COUNT | OVERFLOW)) !== 0 || this.slots.wants[s] !== 0 || this.slots.next[s] !== 0) return false
    this.counts.gone(this.slots.flags[s]!)
    this.slots.deleteAt(s)
    return true
  }

  private infoAt (s: number, mh: Uint8Array): BlockInfo {
    const { slots } = this
    const m = slots.meta[s]!
    const replicas: number[] = []
    for (let i = 0; i < (m & COUNT); i++) replicas.push(slots.reps[s * INLINE + i]!)
    if ((m & OVERFLOW) !== 0) replicas.push(...this.overflow.get(keyString(mh))!)
    return { size: slots.sizes[s]!, replicas, want: slots.wants[s]!, firstSeenSec: slots.seen[s]!, flags: slots.flags[s]! }
  }

  /** Clamped to uint32: a clock before the epoch reads as 0. */
  private nowSec (): number {
    return Math.min(Math.max(Math.floor((this.clock() - this.epochMs) / 1000), 0), 0xffffffff)
  }
}
