import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import type { DatanodeCommand, HealthTally } from '../core/index.ts'
import type { BlockInfo } from './block-index.ts'
import { classify, repairPriority, tally } from './health.ts'
import type { BlockHealth, Copies } from './health.ts'
import { chooseExcess, chooseTargets } from './placement.ts'
import type { DatanodeRecord } from './registry.ts'
import { FLAG_CORRUPT_SEEN, copiesOf } from './state.ts'
import type { NamenodeState } from './state.ts'

export interface ReplicationInit {
  /** Copies a datanode sends or receives at once. Default 16. */
  maxTransfersPerDatanode?: number
  /** A copy not reported within this is given up and scheduled again. Default 60 s. */
  pendingTimeoutMs?: number
  /** Commands handed to one datanode per reply. Default 256. */
  maxCommandsPerReply?: number
  /**
   * Full scan of every block at least this often. Default 60 s. Only a
   * safety net: the health counts follow each block as it changes, and
   * changes that touch many blocks at once (a datanode's state, a full
   * block report, a recount of wants) ask for a full scan themselves.
   */
  fullScanIntervalMs?: number
}

/** Full scans cost O(blocks) (about 0.4 s per million here): never more often than this, however often rounds run. */
const MIN_FULL_SCAN_GAP_MS = 1_000

/**
 * The health a block was last counted under, kept in the block table's
 * flags (bits 1-3), so the counts can follow a block that changes without a
 * scan of every block: the old class is taken out of the counts and the new
 * one put in. 0: not counted (no want).
 */
const CLASS_SHIFT = 1
const CLASS_MASK = 0b1110
const CLASSES: ReadonlyArray<BlockHealth | undefined> = [undefined, 'healthy', 'under-replicated', 'over-replicated', 'misplaced', 'missing', 'corrupt']
const CLASS_OF = new Map(CLASSES.map((health, code) => [health, code]))

export interface HealthCounts extends HealthTally {
  pinned: number
  /** Pinned blocks with at least one readable copy (safe mode's measure). */
  readable: number
}

interface Pending {
  source: number
  targets: number[]
  deadlineMs: number
}

interface Move {
  /** The copy to drop once the new one is reported. */
  from: number
  to: number
}

/**
 * Keeps every pinned block at its replication factor. Each round it looks at
 * the blocks that changed (and every block on a full scan), then hands out
 * work, most urgent first (a block down to one copy before one with two):
 * copy a block from a datanode that has it to one chosen by placement, or
 * delete a copy that is one too many. Work rides on the replies to
 * heartbeats and block reports, bounded per datanode; a copy not reported
 * in time is scheduled again. Nothing is decided in safe mode.
 */
export class ReplicationMonitor {
  private readonly state: NamenodeState
  private readonly maxTransfers: number
  private readonly pendingTimeoutMs: number
  private readonly maxCommands: number
  private readonly fullScanIntervalMs: number
  private readonly pending = new Map<string, Pending>()
  private readonly deleting = new Map<string, Set<number>>()
  private readonly moves = new Map<string, Move>()
  /** Unpinned blocks gc ordered deleted, with the datanodes told to. */
  private readonly condemned = new Map<string, Set<number>>()
  /** When each was condemned: a datanode that keeps a fresh block never reports it gone. */
  private readonly condemnedAt = new Map<string, number>()
  private readonly outbox = new Map<number, DatanodeCommand[]>()
  private readonly load = new Map<number, number>()
  private readonly dirty = new Map<string, Uint8Array>()
  /** Blocks needing work that could not be scheduled yet (throttled, no target): tried every round. */
  private readonly backlog = new Map<string, Uint8Array>()
  /** Asks the service for an early round (a copy finished: the datanodes have room again). */
  onNudge: (() => void) | undefined
  private lastFullScanMs = Number.NEGATIVE_INFINITY
  private fullScanWanted = true
  private countedMs = Number.NEGATIVE_INFINITY
  private lastStates = new Map<number, string>()
  /** Pinned blocks by health, as of the last round (exact: every change to a block is looked at). */
  counts: HealthCounts = emptyCounts()
  /** What the last round did: blocks looked at, and whether that was all of them. */
  lastRound = { looked: 0, full: false }
  /** Pinned blocks each retiring datanode still holds that need copies elsewhere. */
  readonly toMove = new Map<number, number>()

  constructor (state: NamenodeState, init: ReplicationInit = {}) {
    this.state = state
    this.maxTransfers = init.maxTransfersPerDatanode ?? 16
    this.pendingTimeoutMs = init.pendingTimeoutMs ?? 60_000
    this.maxCommands = init.maxCommandsPerReply ?? 256
    this.fullScanIntervalMs = init.fullScanIntervalMs ?? 60_000
  }

  /** A block's copies changed: look at it next round. */
  touch (mh: Uint8Array): void {
    this.dirty.set(keyOf(mh), Uint8Array.from(mh))
  }

  /** Something affecting many blocks changed (a pin, a datanode's state): scan everything next round. */
  rescan (): void {
    this.fullScanWanted = true
  }

  /** A datanode reported a new copy: settles a pending copy or move. */
  replicaAdded (mh: Uint8Array, datanode: number): void {
    const key = keyOf(mh)
    const pending = this.pending.get(key)
    if (pending?.targets.includes(datanode) === true) {
      pending.targets = pending.targets.filter((t) => t !== datanode)
      this.release(pending.source)
      this.release(datanode)
      if (pending.targets.length === 0) this.pending.delete(key)
      this.onNudge?.()
      const move = this.moves.get(key)
      if (move?.to === datanode) {
        this.moves.delete(key)
        this.orderDelete(mh, move.from)
      }
      // what is left to move off a retiring datanode is counted by full scans only
      if (this.toMove.size > 0) this.fullScanWanted = true
    }
    this.touch(mh)
  }

  /** A datanode reported a copy gone (deleted, lost, or found corrupt). */
  replicaRemoved (mh: Uint8Array, datanode: number): void {
    const key = keyOf(mh)
    // a copy ordered from this datanode cannot happen now (its copy was the
    // rotten one, typically): forget it at once rather than at its deadline,
    // or the block waits a whole pending timeout before another source is tried
    const pending = this.pending.get(key)
    if (pending?.source === datanode) this.cancel(key, pending)
    for (const map of [this.deleting, this.condemned]) {
      const set = map.get(key)
      if (set === undefined) continue
      set.delete(datanode)
      if (set.size === 0) map.delete(key)
    }
    this.touch(mh)
  }

  /** gc: delete these copies of an unpinned block. */
  condemn (mh: Uint8Array, datanodes: number[]): void {
    const key = keyOf(mh)
    const set = this.condemned.get(key) ?? new Set<number>()
    for (const datanode of datanodes) {
      if (set.has(datanode)) continue
      set.add(datanode)
      this.queueDelete(datanode, cidOf(mh), true)
    }
    this.condemned.set(key, set)
    this.condemnedAt.set(key, this.state.clock())
  }

  /** Copies gc has ordered deleted do not count as present for a new put. */
  isCondemned (mh: Uint8Array): boolean {
    return this.condemned.has(keyOf(mh))
  }

  /** A put or pin wants the block again; datanodes keep copies sent to them lately anyway. */
  pardon (mh: Uint8Array): void {
    this.condemned.delete(keyOf(mh))
    this.condemnedAt.delete(keyOf(mh))
  }

  /** Has a datanode re-read a copy a client found bad. */
  verify (datanode: number, cid: CID): void {
    this.send(datanode, { kind: 'verify', cids: [cid] })
  }

  /** When the counts were last brought up to date (every round does). */
  get lastScanMs (): number {
    return Number.isFinite(this.countedMs) ? this.countedMs : 0
  }

  /** Work for one datanode, taken off its queue. */
  takeCommands (datanode: number): DatanodeCommand[] {
    const queue = this.outbox.get(datanode)
    if (queue === undefined || queue.length === 0) return []
    const taken = queue.splice(0, this.maxCommands)
    if (queue.length === 0) this.outbox.delete(datanode)
    return taken
  }

  /** Plans moving copies between datanodes (balance, or operator requests). Returns how many were planned. */
  planMove (mh: Uint8Array, from: number, to: number): boolean {
    const key = keyOf(mh)
    if (this.pending.has(key) || this.moves.has(key)) return false
    if (this.busy(from) || this.busy(to)) return false
    const target = this.state.registry.at(to)
    if (target === undefined) return false
    this.moves.set(key, { from, to })
    this.send(from, { kind: 'replicate', cid: cidOf(mh), targets: [this.state.registry.address(target)] })
    this.pending.set(key, { source: from, targets: [to], deadlineMs: this.state.clock() + this.pendingTimeoutMs })
    this.take(from)
    this.take(to)
    return true
  }

  get movesInFlight (): number {
    return this.moves.size
  }

  get pendingCopies (): number {
    let n = 0
    for (const p of this.pending.values()) n += p.targets.length
    return n
  }

  /** One round. `decide` false (safe mode): only count, schedule nothing. `lastRound` tells what it looked at. */
  tick (decide: boolean): void {
    const now = this.state.clock()
    this.expire(now)
    this.noticeStateChanges()
    // full scans cost O(blocks): at most one a second however often rounds run
    const full = (this.fullScanWanted && now - this.lastFullScanMs >= MIN_FULL_SCAN_GAP_MS) || now - this.lastFullScanMs >= this.fullScanIntervalMs
    const work: Array<{ mh: Uint8Array, info: BlockInfo, copies: Copies, health: BlockHealth, priority: number }> = []
    const racks = this.rackCount()

    // a full scan counts from scratch; a partial one moves each block it looks at from its old class to its new
    const counts = full ? emptyCounts() : this.counts
    const look = (mh: Uint8Array, info: BlockInfo, toMove: Map<number, number> | undefined): void => {
      looked++
      if (info.want === 0) {
        this.recount(counts, mh, info, undefined, full)
        return
      }
      const copies = copiesOf(this.state, info)
      const deleting = this.deleting.get(keyOf(mh))
      if (deleting !== undefined) copies.good = copies.good.filter((d) => !deleting.has(d))
      const health = classify({
        want: info.want,
        copies,
        rackOf: (d) => this.state.registry.at(d)?.rack,
        racks,
        corruptSeen: (info.flags & FLAG_CORRUPT_SEEN) !== 0
      })
      this.recount(counts, mh, info, health, full)
      if (toMove !== undefined && copies.good.length < info.want) {
        for (const d of copies.retiring) toMove.set(d, (toMove.get(d) ?? 0) + 1)
      }
      if (health !== 'healthy' && health !== 'missing' && health !== 'corrupt') {
        work.push({ mh: Uint8Array.from(mh), info, copies, health, priority: health === 'under-replicated' ? repairPriority(info.want, copies) : 3 })
      }
    }

    let looked = 0
    if (full) {
      const toMove = new Map<number, number>()
      this.state.blocks.forEach((mh, info) => { look(mh, info, toMove) })
      this.counts = counts
      this.updateRetiring(toMove)
      this.lastFullScanMs = now
      this.fullScanWanted = false
      this.dirty.clear()
      this.backlog.clear()
    } else {
      for (const [key, mh] of this.backlog) if (!this.dirty.has(key)) this.dirty.set(key, mh)
      this.backlog.clear()
      for (const mh of this.dirty.values()) {
        const info = this.state.blocks.get(mh)
        if (info !== undefined) look(mh, info, undefined)
      }
      this.dirty.clear()
    }
    this.countedMs = now
    this.lastRound = { looked, full }
    if (!decide) return

    work.sort((a, b) => a.priority - b.priority)
    for (const item of work) {
      const done = item.health === 'over-replicated'
        ? this.scheduleTrim(item.mh, item.info, item.copies)
        : this.scheduleCopy(item.mh, item.info, item.copies, item.health)
      if (!done) this.backlog.set(keyOf(item.mh), item.mh)
    }
  }

  /**
   * Counts a block under its health now (undefined: not counted, no want)
   * and remembers that in its flags. `fresh`: `counts` started empty this
   * round, so nothing is taken out. A corrupt copy stops mattering once the
   * block is healthy again.
   */
  private recount (counts: HealthCounts, mh: Uint8Array, info: BlockInfo, health: BlockHealth | undefined, fresh: boolean): void {
    let flags = (info.flags & ~CLASS_MASK) | ((CLASS_OF.get(health) as number) << CLASS_SHIFT)
    if (health === 'healthy') flags &= ~FLAG_CORRUPT_SEEN
    const old = CLASSES[(info.flags & CLASS_MASK) >> CLASS_SHIFT]
    if (fresh || old !== health) {
      if (!fresh && old !== undefined) count(counts, old, -1)
      if (health !== undefined) count(counts, health, 1)
    }
    if (flags !== info.flags) this.state.blocks.setFlags(mh, flags)
  }

  /** Returns false when the block still needs work that could not be scheduled now. */
  private scheduleCopy (mh: Uint8Array, info: BlockInfo, copies: Copies, health: BlockHealth): boolean {
    const key = keyOf(mh)
    const pending = this.pending.get(key)
    const inFlight = pending?.targets.length ?? 0
    // a misplaced block gets one extra copy on another rack; the trim then removes a crowded one
    const needed = health === 'misplaced' ? 1 - inFlight : info.want - copies.good.length - inFlight
    if (needed <= 0) return true
    const sources = [...copies.good, ...copies.retiring]
      .filter((d) => this.state.registry.at(d) !== undefined && this.state.registry.stateOf(this.state.registry.at(d) as DatanodeRecord) === 'live' && !this.busy(d))
      .sort((a, b) => (this.load.get(a) ?? 0) - (this.load.get(b) ?? 0))
    const source = sources[0]
    if (source === undefined) return false
    const holders = new Set([...info.replicas, ...(pending?.targets ?? [])])
    const usedRacks = new Set(copies.good.map((d) => this.state.registry.at(d)?.rack).filter((r): r is string => r !== undefined))
    const candidates = this.state.registry.writable()
      .filter((r) => !holders.has(r.index) && !this.busy(r.index))
      .map((r) => ({ id: r.id, availableBytes: r.usage.availableBytes, activeTransfers: this.load.get(r.index) ?? 0, ...(r.rack === undefined ? {} : { rack: r.rack }) }))
    const chosen = chooseTargets({ candidates, count: needed, bytes: info.size, usedRacks })
    if (health === 'misplaced' && chosen.every((c) => c.rack === undefined || usedRacks.has(c.rack))) return true
    if (chosen.length === 0) return false
    const targets = chosen.map((c) => this.state.registry.get(c.id) as DatanodeRecord)
    this.send(source, { kind: 'replicate', cid: cidOf(mh), targets: targets.map((t) => this.state.registry.address(t)) })
    this.pending.set(key, {
      source,
      targets: [...(pending?.targets ?? []), ...targets.map((t) => t.index)],
      deadlineMs: this.state.clock() + this.pendingTimeoutMs
    })
    for (const t of targets) {
      this.take(source)
      this.take(t.index)
    }
    return chosen.length >= needed
  }

  private scheduleTrim (mh: Uint8Array, info: BlockInfo, copies: Copies): boolean {
    const key = keyOf(mh)
    if (this.pending.has(key) || this.moves.has(key)) return false
    const excess = copies.good.length - info.want
    if (excess <= 0) return true
    const candidates = copies.good
      .filter((d) => this.state.registry.stateOf(this.state.registry.at(d) as DatanodeRecord) === 'live')
      .map((d) => {
        const r = this.state.registry.at(d) as DatanodeRecord
        return { datanode: d, availableBytes: r.usage.availableBytes, ...(r.rack === undefined ? {} : { rack: r.rack }) }
      })
    // only delete where enough good copies stay on live datanodes
    if (candidates.length - excess < info.want) return false
    for (const datanode of chooseExcess(candidates, excess)) this.orderDelete(mh, datanode)
    return true
  }

  private orderDelete (mh: Uint8Array, datanode: number): void {
    const key = keyOf(mh)
    const set = this.deleting.get(key) ?? new Set<number>()
    if (set.has(datanode)) return
    set.add(datanode)
    this.deleting.set(key, set)
    this.queueDelete(datanode, cidOf(mh), false)
  }

  private queueDelete (datanode: number, cid: CID, gc: boolean): void {
    const queue = this.outbox.get(datanode) ?? []
    const last = queue.at(-1)
    if (last?.kind === 'delete' && (last.gc === true) === gc && last.cids.length < 1024) last.cids.push(cid)
    else this.send(datanode, gc ? { kind: 'delete', cids: [cid], gc: true } : { kind: 'delete', cids: [cid] })
  }

  private send (datanode: number, command: DatanodeCommand): void {
    const queue = this.outbox.get(datanode) ?? []
    queue.push(command)
    this.outbox.set(datanode, queue)
  }

  private busy (datanode: number): boolean {
    return (this.load.get(datanode) ?? 0) >= this.maxTransfers
  }

  private take (datanode: number): void {
    this.load.set(datanode, (this.load.get(datanode) ?? 0) + 1)
  }

  /** Forgets a copy still in flight, giving back the transfer slots it held. */
  private cancel (key: string, pending: Pending): void {
    for (const t of pending.targets) {
      this.release(pending.source)
      this.release(t)
    }
    this.pending.delete(key)
    this.moves.delete(key)
  }

  private release (datanode: number): void {
    const n = (this.load.get(datanode) ?? 0) - 1
    if (n <= 0) this.load.delete(datanode)
    else this.load.set(datanode, n)
  }

  private expire (now: number): void {
    for (const [key, at] of this.condemnedAt) {
      if (now - at < this.pendingTimeoutMs) continue
      this.condemned.delete(key)
      this.condemnedAt.delete(key)
    }
    for (const [key, pending] of this.pending) {
      if (pending.deadlineMs > now) continue
      this.cancel(key, pending)
      this.fullScanWanted = true
    }
  }

  /** Liveness or admin changes touch many blocks at once: rescan when any datanode changes. */
  private noticeStateChanges (): void {
    const states = new Map<number, string>()
    for (const r of this.state.registry.all()) {
      const now = `${this.state.registry.stateOf(r)}/${r.admin}`
      states.set(r.index, now)
      if (this.lastStates.get(r.index) !== now) {
        this.fullScanWanted = true
        // work queued for a datanode that died will never be picked up
        if (now.startsWith('dead')) this.forget(r.index)
      }
    }
    this.lastStates = states
  }

  private forget (datanode: number): void {
    this.outbox.delete(datanode)
    for (const [key, pending] of this.pending) {
      if (pending.source === datanode || pending.targets.includes(datanode)) this.cancel(key, pending)
    }
    for (const map of [this.deleting, this.condemned]) {
      for (const [key, set] of map) {
        set.delete(datanode)
        if (set.size === 0) map.delete(key)
      }
    }
  }

  private updateRetiring (toMove: Map<number, number>): void {
    this.toMove.clear()
    for (const r of this.state.registry.all()) {
      if (r.admin !== 'decommissioning') continue
      const left = toMove.get(r.index) ?? 0
      this.toMove.set(r.index, left)
      if (left === 0) {
        r.admin = 'decommissioned'
        this.state.store.putDatanode(this.state.registry.persisted(r))
        this.state.log.info(`datanode ${r.id} is decommissioned: every block it holds has its copies elsewhere; it is safe to remove`)
      }
    }
  }

  private rackCount (): number {
    return new Set(this.state.registry.writable().map((r) => r.rack).filter((r) => r !== undefined)).size
  }
}

/** `readable` follows from the class: missing and corrupt are the blocks without a readable copy. */
function count (counts: HealthCounts, health: BlockHealth, by: 1 | -1): void {
  counts.pinned += by
  if (health !== 'missing' && health !== 'corrupt') counts.readable += by
  tally(counts, health, by)
}

function emptyCounts (): HealthCounts {
  return { pinned: 0, healthy: 0, underReplicated: 0, overReplicated: 0, misplaced: 0, missing: 0, corrupt: 0, readable: 0 }
}

function keyOf (mh: Uint8Array): string {
  return Buffer.from(mh.buffer, mh.byteOffset, mh.byteLength).toString('latin1')
}

/** Datanodes key blocks by multihash; a raw CID carries just that. */
export function cidOf (mh: Uint8Array): CID {
  return CID.createV1(raw.code, Digest.decode(Uint8Array.from(mh)))
}
