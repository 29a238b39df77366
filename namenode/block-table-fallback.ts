import { CopyCounts } from './block-table-counts.ts'
import { keyString } from './block-table-hash.ts'
import type { BlockInfo } from './block-table.ts'

interface Entry extends BlockInfo {
  mh: Uint8Array
  /** What a recount in progress found the block wants (see BlockTable.beginRecount). */
  next: number
}

/**
 * BlockTable's entries for blocks whose multihash is not sha2-256 (sha2-512,
 * blake3...): rare enough that a Map with one object per block costs
 * nothing, and it keeps the slot arrays at a fixed 32-byte digest.
 */
export class FallbackBlocks {
  private readonly entries = new Map<string, Entry>()
  private readonly nowSec: () => number
  readonly counts = new CopyCounts()

  constructor (nowSec: () => number) {
    this.nowSec = nowSec
  }

  get size (): number {
    return this.entries.size
  }

  has (mh: Uint8Array): boolean {
    return this.entries.has(keyString(mh))
  }

  get (mh: Uint8Array): BlockInfo | undefined {
    const e = this.entries.get(keyString(mh))
    return e === undefined ? undefined : snapshot(e)
  }

  hasReplica (mh: Uint8Array, datanode: number): boolean {
    return this.entries.get(keyString(mh))?.replicas.includes(datanode) ?? false
  }

  addReplica (mh: Uint8Array, size: number, datanode: number): void {
    const e = this.ensure(mh)
    e.size = size
    if (e.replicas.includes(datanode)) return
    e.replicas.push(datanode)
    this.counts.added(datanode, e.replicas.length === 1)
  }

  removeReplica (mh: Uint8Array, datanode: number): void {
    const key = keyString(mh)
    const e = this.entries.get(key)
    if (e !== undefined) this.remove(key, e, datanode)
  }

  dropDatanode (datanode: number): void {
    for (const [key, e] of this.entries) this.remove(key, e, datanode)
  }

  setWant (mh: Uint8Array, want: number, recounting: boolean): void {
    const key = keyString(mh)
    const e = want > 0 ? this.ensure(mh) : this.entries.get(key)
    if (e === undefined) return
    e.want = want
    if (recounting) e.next = Math.max(e.next, want)
    this.collect(key, e)
  }

  raiseWant (mh: Uint8Array, want: number, recounting: boolean): void {
    const e = this.ensure(mh)
    e.want = Math.max(e.want, want)
    if (recounting) e.next = Math.max(e.next, want)
  }

  recountWant (mh: Uint8Array, want: number): void {
    const e = this.ensure(mh)
    e.next = Math.max(e.next, want)
  }

  finishRecount (): void {
    for (const e of this.entries.values()) {
      e.want = e.next
      e.next = 0
    }
    for (const [key, e] of this.entries) this.collect(key, e)
  }

  abortRecount (): void {
    for (const e of this.entries.values()) e.next = 0
    for (const [key, e] of this.entries) this.collect(key, e)
  }

  setFlags (mh: Uint8Array, flags: number): void {
    const e = this.entries.get(keyString(mh))
    if (e === undefined) return
    this.counts.retagged(e.flags, flags)
    e.flags = flags
  }

  /** `mh` is the entry's own copy: fn must not change it. */
  forEach (fn: (mh: Uint8Array, info: BlockInfo) => void): void {
    for (const e of this.entries.values()) fn(e.mh, snapshot(e))
  }

  private ensure (mh: Uint8Array): Entry {
    const key = keyString(mh)
    let e = this.entries.get(key)
    if (e === undefined) {
      e = { mh: mh.slice(), size: 0, replicas: [], want: 0, firstSeenSec: this.nowSec(), flags: 0, next: 0 }
      this.entries.set(key, e)
    }
    return e
  }

  private remove (key: string, e: Entry, datanode: number): void {
    const at = e.replicas.indexOf(datanode)
    if (at >= 0) {
      e.replicas.splice(at, 1)
      this.counts.removed(datanode, e.replicas.length === 0)
    }
    this.collect(key, e)
  }

  private collect (key: string, e: Entry): void {
    if (e.replicas.length !== 0 || e.want !== 0 || e.next !== 0) return
    this.counts.gone(e.flags)
    this.entries.delete(key)
  }
}

function snapshot (e: Entry): BlockInfo {
  return { size: e.size, replicas: [...e.replicas], want: e.want, firstSeenSec: e.firstSeenSec, flags: e.flags }
}
