import type { CID } from 'multiformats/cid'
import { rawCid } from '../core/index.ts'
import type { DatanodeCommand, HealthTally } from '../core/index.ts'
import type { BlockInfo, BlockSweep } from './block-index.ts'
import { TAG_MASK, TAG_SHIFT } from './block-table-counts.ts'
import { keptCopy, keyString } from './block-table-hash.ts'
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
   * A sweep over every block starts at least this often. Default 60 s.
   * Only a safety net: the health counts follow each block as it changes,
   * and changes that touch many blocks at once (a datanode's state, a full
   * block report, a recount of wants) ask for a sweep themselves.
   */
  sweepIntervalMs?: number
  /**
   * Blocks a sweep looks at per round. Default 50,000, about 20 ms of the
   * event loop here (a block costs about 0.4 µs); while a sweep is under
   * way rounds follow one another closely, so a million blocks take about
   * a second without ever holding the namenode for more than a slice.
   */
  sweepSliceBlocks?: number
  /**
   * Blocks waiting for work (no transfer slot or target was free) looked at
   * again per round, most urgent first. Default 10,000. Rounds stop early
   * once every datanode's transfer slots are taken.
   */
  backlogPerRound?: number
  /**
   * Blocks the backlog holds, beyond those down to their last copy (always
   * kept). Default 100,000 (about 10 MB). What does not fit is found again
   * by a sweep once the backlog has drained to half, so a datanode of
   * millions of blocks dying costs neither that much memory nor the time to
   * file each block.
   */
  backlogLimit?: number
}

/** A sweep costs O(blocks) (about 0.4 s per million here): one starts at most this often, however often rounds run. */
const MIN_SWEEP_GAP_MS = 1_000
/**
 * A command waiting for its datanode. A gc can queue deletes for every
 * block a datanode holds: they wait as multihashes (in Node's buffer pool,
 * about a third of a CID's memory) and become CIDs only as they are sent.
 */
type Queued = Exclude<DatanodeCommand, { kind: 'delete' }> | { kind: 'delete', mhs: Uint8Array[], gc: boolean }

function toCommand (queued: Queued): DatanodeCommand {
  if (queued.kind !== 'delete') return queued
  const cids = queued.mhs.map(rawCid)
  return queued.gc ? { kind: 'delete', cids, gc: true } : { kind: 'delete', cids }
}

/** Blocks named in one reply's commands, at most (deletes come 1,024 to a command). */
export const MAX_CIDS_PER_REPLY = 8_192
/** While a datanode retires and its copies land, a sweep recounts what is left to move at most this long after the last one ended. */
export const DECOMMISSION_SWEEP_GAP_MS = 10_000
/** repairPriority's 0-2 for copies; trims and moves to another rack come last. */
const PRIORITIES = 4
const TRIM_PRIORITY = 3

/**
 * The health a block was last counted under, kept as the block table's tag
 * (flags bits 1-3), which the table counts its entries by: so the counts
 * follow every block without a scan of every block. 0: not counted (no want).
 */
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

interface WorkItem {
  key: string
  mh: Uint8Array
  info: BlockInfo
  copies: Copies
  health: BlockHealth
  priority: number
}

interface Sweep {
  blocks: BlockSweep
  /** Pinned blocks each retiring datanode holds that still need copies elsewhere, so far. */
  toMove: Map<number, number>
}

interface Move {
  /** The copy to drop once the new one is reported. */
  from: number
  to: number
}

/**
 * Keeps every pinned block at its replication factor. Each round it looks at
 * the blocks that changed (and at a slice of every block while a sweep is
 * under way), then hands out work, most urgent first (a block down to one
 * copy before one with two):
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
  private readonly sweepIntervalMs: number
  private readonly sweepSlice: number
  private readonly backlogPerRound: number
  private readonly backlogLimit: number
  /** Blocks needing work were left out of the full backlog: a sweep finds them once it drains. */
  private overflowed = false
  private readonly pending = new Map<string, Pending>()
  private readonly deleting = new Map<string, Set<number>>()
  private readonly moves = new Map<string, Move>()
  /**
   * Unpinned blocks gc ordered deleted: the datanodes told to, and when.
   * Entries lapse (a datanode that keeps a fresh block never reports it
   * gone) and are kept oldest first, so lapsing looks only at what lapses:
   * a gc can leave hundreds of thousands here, and rounds come every 20 ms.
   */
  private readonly condemned = new Map<string, { atMs: number, datanodes: number[] }>()
  /**
   * Blocks wanted again after gc condemned them, whose delete orders may
   * still wait in an outbox: those are dropped when taken. Cleared once no
   * gc delete waits anywhere (queuedGcDeletes).
   */
  private readonly pardoned = new Set<string>()
  private queuedGcDeletes = 0
  private readonly outbox = new Map<number, Queued[]>()
  private readonly load = new Map<number, number>()
  private readonly dirty = new Map<string, Uint8Array>()
  /**
   * Blocks needing work that could not be scheduled yet (throttled, no
   * target), by priority, oldest first: looked at again in later rounds.
   * Keys only (a block's multihash as latin1): after a datanode dies this
   * holds most of what it held.
   */
  private readonly backlog: Array<Set<string>> = Array.from({ length: PRIORITIES }, () => new Set<string>())
  /** Asks the service for an early round (a copy finished, or a sweep is under way). */
  onNudge: (() => void) | undefined
  private sweep: Sweep | undefined
  private lastSweepStartMs = Number.NEGATIVE_INFINITY
  private lastSweepEndMs = Number.NEGATIVE_INFINITY
  private sweepWanted = true
  private countedMs = Number.NEGATIVE_INFINITY
  private lastStates = new Map<number, string>()
  /** Live datanodes in normal service with a transfer slot free, this round: a copy needs two. */
  private free = new Set<number>()
  /** Copies this round's free slots could still take, less those already planned (a copy takes a slot at each end). */
  private room = 0
  /** What the last round did: changed or waiting blocks it looked at, blocks its sweep slice looked at, and whether a sweep is still under way. */
  lastRound = { looked: 0, swept: 0, sweeping: false }
  /** Pinned blocks each retiring datanode still holds that need copies elsewhere. */
  readonly toMove = new Map<number, number>()

  constructor (state: NamenodeState, init: ReplicationInit = {}) {
    this.state = state
    this.maxTransfers = init.maxTransfersPerDatanode ?? 16
    this.pendingTimeoutMs = init.pendingTimeoutMs ?? 60_000
    this.maxCommands = init.maxCommandsPerReply ?? 256
    this.sweepIntervalMs = init.sweepIntervalMs ?? 60_000
    this.sweepSlice = init.sweepSliceBlocks ?? 50_000
    this.backlogPerRound = init.backlogPerRound ?? 10_000
    this.backlogLimit = init.backlogLimit ?? 100_000
  }

  /** A block's copies changed: look at it next round. */
  touch (mh: Uint8Array): void {
    this.dirty.set(keyString(mh), keptCopy(mh))
  }

  /** Something affecting many blocks changed (a pin, a datanode's state): sweep every block (once one under way ends). */
  rescan (): void {
    this.sweepWanted = true
  }

  /**
   * Pinned blocks by health, as last looked at: exact for every block whose
   * copies changed (each is looked at the next round), and for everything
   * once a sweep that began after a datanode changed state ends.
   */
  get counts (): HealthCounts {
    const counts = emptyCounts()
    for (let code = 1; code < CLASSES.length; code++) {
      const n = this.state.blocks.tagged(code)
      const health = CLASSES[code] as BlockHealth
      counts.pinned += n
      if (health !== 'missing' && health !== 'corrupt') counts.readable += n
      tally(counts, health, n)
    }
    return counts
  }

  /** Whether a sweep over every block is under way (rounds then follow closely). */
  get sweeping (): boolean {
    return this.sweep !== undefined
  }

  /**
   * No sweep under way or asked for: every block has been looked at since
   * the last change that touched many at once, so the counts are exact.
   */
  get settled (): boolean {
    return this.sweep === undefined && !this.sweepWanted
  }

  /** A datanode reported a new copy: settles a pending copy or move. */
  replicaAdded (mh: Uint8Array, datanode: number): void {
    const key = keyString(mh)
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
      // What is left to move off a retiring datanode is counted by sweeps
      // only. Not a sweep per landed copy: with a million blocks those ran
      // back to back for the whole decommission. One when no known work is
      // left (to find what the backlog could not hold, or to conclude), and
      // otherwise now and then, so the figure users watch moves.
      if (this.toMove.size > 0 && ((this.pending.size === 0 && this.waiting === 0) ||
          this.state.clock() - this.lastSweepEndMs >= DECOMMISSION_SWEEP_GAP_MS)) {
        this.sweepWanted = true
      }
    }
    this.touch(mh)
  }

  /** A datanode reported a copy gone (deleted, lost, or found corrupt). */
  replicaRemoved (mh: Uint8Array, datanode: number): void {
    const key = keyString(mh)
    // a copy ordered from this datanode cannot happen now (its copy was the
    // rotten one, typically): forget it at once rather than at its deadline,
    // or the block waits a whole pending timeout before another source is tried
    const pending = this.pending.get(key)
    if (pending?.source === datanode) this.cancel(key, pending)
    const deleting = this.deleting.get(key)
    if (deleting !== undefined) {
      deleting.delete(datanode)
      if (deleting.size === 0) this.deleting.delete(key)
    }
    const condemned = this.condemned.get(key)
    if (condemned !== undefined) {
      condemned.datanodes = condemned.datanodes.filter((d) => d !== datanode)
      if (condemned.datanodes.length === 0) this.condemned.delete(key)
    }
    this.touch(mh)
  }

  /** gc: delete these copies of an unpinned block. */
  condemn (mh: Uint8Array, datanodes: number[]): void {
    const key = keyString(mh)
    const told = this.condemned.get(key)?.datanodes ?? []
    let kept: Uint8Array | undefined
    for (const datanode of datanodes) {
      if (told.includes(datanode)) continue
      told.push(datanode)
      kept ??= keptCopy(mh)
      this.queueDelete(datanode, kept, true)
    }
    // to the end: the map stays oldest first
    this.condemned.delete(key)
    this.condemned.set(key, { atMs: this.state.clock(), datanodes: told })
    this.pardoned.delete(key)
  }

  /** Copies gc has ordered deleted do not count as present for a new put. */
  isCondemned (mh: Uint8Array): boolean {
    return this.condemned.has(keyString(mh))
  }

  /**
   * A put or pin wants the block again: its delete orders not yet sent are
   * dropped. (Datanodes also keep a copy sent to them since an order came,
   * or within their gc grace.)
   */
  pardon (mh: Uint8Array): void {
    const key = keyString(mh)
    if (this.condemned.delete(key) && this.queuedGcDeletes > 0) this.pardoned.add(key)
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
    // gc can queue deletes for every block a datanode holds: a reply carrying
    // them all would hold the namenode while it encodes them. The datanode
    // asks again as it reports each batch deleted.
    let n = 0
    let cids = 0
    for (const command of queue) {
      const size = command.kind === 'delete' ? command.mhs.length : 1
      if (n === this.maxCommands || (n > 0 && cids + size > MAX_CIDS_PER_REPLY)) break
      cids += size
      n++
    }
    const taken = queue.splice(0, n)
    if (queue.length === 0) this.outbox.delete(datanode)
    const commands: DatanodeCommand[] = []
    for (const command of taken) {
      if (command.kind === 'delete' && command.gc) {
        this.queuedGcDeletes -= command.mhs.length
        if (this.pardoned.size > 0) command.mhs = command.mhs.filter((mh) => !this.pardoned.has(keyString(mh)))
        if (command.mhs.length === 0) continue
      }
      commands.push(toCommand(command))
    }
    if (this.queuedGcDeletes === 0) this.pardoned.clear()
    return commands
  }

  /** Plans moving copies between datanodes (balance, or operator requests). Returns how many were planned. */
  planMove (mh: Uint8Array, from: number, to: number): boolean {
    const key = keyString(mh)
    if (this.pending.has(key) || this.moves.has(key)) return false
    if (this.busy(from) || this.busy(to)) return false
    const target = this.state.registry.at(to)
    if (target === undefined) return false
    this.moves.set(key, { from, to })
    this.send(from, { kind: 'replicate', cid: rawCid(mh), targets: [this.state.registry.address(target)] })
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

  /**
   * One round: looks at the blocks that changed, at a slice of a sweep
   * over every block when one is under way, then (unless `decide` is false:
   * safe mode, count only) schedules work most urgent first, taking blocks
   * that waited from earlier rounds in their turn. `lastRound` tells what
   * it looked at.
   */
  tick (decide: boolean): void {
    const now = this.state.clock()
    this.expire(now)
    this.noticeStateChanges()
    if (this.sweep === undefined && ((this.sweepWanted && now - this.lastSweepStartMs >= MIN_SWEEP_GAP_MS) || now - this.lastSweepStartMs >= this.sweepIntervalMs)) {
      this.sweep = { blocks: this.state.blocks.sweep(), toMove: new Map() }
      this.sweepWanted = false
      this.lastSweepStartMs = now
    }
    const racks = this.rackCount()
    this.free = decide ? this.freeDatanodes() : new Set()
    this.room = 0
    for (const d of this.free) this.room += this.maxTransfers - (this.load.get(d) ?? 0)
    this.room = Math.floor(this.room / 2)
    const work: WorkItem[] = []
    let looked = 0
    let swept = 0
    for (const mh of this.dirty.values()) {
      const info = this.state.blocks.get(mh)
      if (info === undefined) continue
      looked++
      const item = this.assess(mh, info, racks, undefined, decide)
      if (item !== undefined) work.push(item)
    }
    this.dirty.clear()
    const sweep = this.sweep
    if (sweep !== undefined) {
      const done = sweep.blocks.step(this.sweepSlice, (mh, info) => {
        swept++
        const item = this.assess(mh, info, racks, sweep.toMove, decide)
        if (item !== undefined) work.push(item)
      })
      if (done) {
        this.sweep = undefined
        this.lastSweepEndMs = now
        // a rescan asked for while it ran (a datanode changed, a block report came) may have changed what it already passed
        this.updateRetiring(sweep.toMove, !this.sweepWanted)
      }
    }
    this.countedMs = now

    if (decide) looked += this.schedule(work, racks)
    if (this.overflowed && this.sweep === undefined && this.waiting <= this.backlogLimit / 2) {
      this.overflowed = false
      this.sweepWanted = true
    }
    this.lastRound = { looked, swept, sweeping: this.sweep !== undefined }
    if (this.sweep !== undefined) this.onNudge?.()
  }

  /**
   * Hands out work, most urgent first: at each priority this round's
   * blocks, then those that waited from earlier rounds (oldest first), up
   * to backlogPerRound of them and, for copies, only while free transfer
   * slots remain. Returns how many waiting blocks it looked at.
   */
  private schedule (work: WorkItem[], racks: number): number {
    const retry: WorkItem[] = []
    const attempt = (item: WorkItem): void => {
      const copy = item.health !== 'over-replicated'
      const done = copy
        ? this.free.size >= 2 && this.scheduleCopy(item.mh, item.info, item.copies, item.health)
        : this.scheduleTrim(item.mh, item.info, item.copies)
      if (!done) retry.push(item)
    }
    work.sort((a, b) => a.priority - b.priority)
    let i = 0
    let budget = this.backlogPerRound
    let looked = 0
    for (let priority = 0; priority < PRIORITIES; priority++) {
      for (; i < work.length && (work[i] as WorkItem).priority <= priority; i++) attempt(work[i] as WorkItem)
      const waiting = this.backlog[priority] as Set<string>
      for (const key of waiting) {
        if (budget <= 0 || (priority < TRIM_PRIORITY && (this.free.size < 2 || this.room <= 0))) break
        budget--
        waiting.delete(key)
        const mh = Buffer.from(key, 'latin1')
        const info = this.state.blocks.get(mh)
        if (info === undefined) continue
        looked++
        const item = this.assess(mh, info, racks, undefined, true)
        if (item !== undefined) attempt(item)
      }
    }
    for (const item of retry) this.wait(item.key, item.priority)
    return looked
  }

  /** Puts a block that needs work on the backlog (once, at its priority now), if there is room. */
  private wait (mh: Uint8Array | string, priority: number): void {
    // one already waiting stays where it is; the next sweep files it again if it moved up
    if (priority > 0 && this.waiting >= this.backlogLimit) {
      this.overflowed = true
      return
    }
    const key = typeof mh === 'string' ? mh : keyString(mh)
    for (const waiting of this.backlog) waiting.delete(key)
    const bucket = this.backlog[priority] as Set<string>
    bucket.add(key)
  }

  /** Blocks on the backlog. */
  get waiting (): number {
    let n = 0
    for (const waiting of this.backlog) n += waiting.size
    return n
  }

  /** Live datanodes in normal service with a transfer slot free. */
  private freeDatanodes (): Set<number> {
    return new Set(this.state.registry.all()
      .filter((r) => r.admin === 'normal' && this.state.registry.stateOf(r) === 'live' && !this.busy(r.index))
      .map((r) => r.index))
  }

  /**
   * Classifies a block, moves it to its new class in the counts, and
   * returns the work it needs, if any (missing and corrupt blocks have no
   * copy to make one from). `toMove`: a sweep's count of what retiring
   * datanodes still hold. `decide` false (safe mode): count only. A copy
   * that could not be placed this round anyway (the free transfer slots
   * are spoken for) goes straight to the backlog, in its turn by priority:
   * after a datanode dies, that is most of what a sweep finds.
   */
  private assess (mh: Uint8Array, info: BlockInfo, racks: number, toMove: Map<number, number> | undefined, decide: boolean): WorkItem | undefined {
    if (info.want === 0) {
      this.markClass(mh, info, undefined)
      return undefined
    }
    const copies = copiesOf(this.state, info)
    const deleting = this.deleting.size === 0 ? undefined : this.deleting.get(keyString(mh))
    if (deleting !== undefined) copies.good = copies.good.filter((d) => !deleting.has(d))
    const health = classify({
      want: info.want,
      copies,
      rackOf: (d) => this.state.registry.at(d)?.rack,
      racks,
      corruptSeen: (info.flags & FLAG_CORRUPT_SEEN) !== 0
    })
    this.markClass(mh, info, health)
    if (toMove !== undefined && copies.good.length < info.want) {
      for (const d of copies.retiring) toMove.set(d, (toMove.get(d) ?? 0) + 1)
    }
    if (!decide || health === 'healthy' || health === 'missing' || health === 'corrupt') return undefined
    const priority = health === 'under-replicated' ? repairPriority(info.want, copies) : TRIM_PRIORITY
    if (health !== 'over-replicated') {
      // more urgent blocks waiting from earlier rounds go first
      if (this.free.size < 2 || this.room <= 0 || this.backlog.some((waiting, p) => p < priority && waiting.size > 0)) {
        this.wait(mh, priority)
        return undefined
      }
      this.room--
    }
    return { key: keyString(mh), mh: keptCopy(mh), info, copies, health, priority }
  }

  /**
   * Remembers in the block's flags the class it is counted under now
   * (undefined: not counted, no want); the block table keeps the count of
   * each class as flags change and entries go. A corrupt copy stops
   * mattering once the block is healthy again.
   */
  private markClass (mh: Uint8Array, info: BlockInfo, health: BlockHealth | undefined): void {
    let flags = (info.flags & ~TAG_MASK) | ((CLASS_OF.get(health) as number) << TAG_SHIFT)
    if (health === 'healthy') flags &= ~FLAG_CORRUPT_SEEN
    if (flags !== info.flags) this.state.blocks.setFlags(mh, flags)
  }

  /** Returns false when the block still needs work that could not be scheduled now. */
  private scheduleCopy (mh: Uint8Array, info: BlockInfo, copies: Copies, health: BlockHealth): boolean {
    const key = keyString(mh)
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
    this.send(source, { kind: 'replicate', cid: rawCid(mh), targets: targets.map((t) => this.state.registry.address(t)) })
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
    const key = keyString(mh)
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
    const key = keyString(mh)
    const set = this.deleting.get(key) ?? new Set<number>()
    if (set.has(datanode)) return
    set.add(datanode)
    this.deleting.set(key, set)
    this.queueDelete(datanode, keptCopy(mh), false)
  }

  /** `mh`: a kept copy (keptCopy); it waits as bytes, not a CID, until sent. */
  private queueDelete (datanode: number, mh: Uint8Array, gc: boolean): void {
    if (gc) this.queuedGcDeletes++
    const queue = this.outbox.get(datanode) ?? []
    const last = queue.at(-1)
    if (last?.kind === 'delete' && last.gc === gc && last.mhs.length < 1024) last.mhs.push(mh)
    else this.send(datanode, { kind: 'delete', mhs: [mh], gc })
  }

  private send (datanode: number, command: Queued): void {
    const queue = this.outbox.get(datanode) ?? []
    queue.push(command)
    this.outbox.set(datanode, queue)
  }

  /** Whether the datanode can take part in one more transfer now. */
  hasFreeSlot (datanode: number): boolean {
    return !this.busy(datanode)
  }

  private busy (datanode: number): boolean {
    return (this.load.get(datanode) ?? 0) >= this.maxTransfers
  }

  private take (datanode: number): void {
    this.load.set(datanode, (this.load.get(datanode) ?? 0) + 1)
    if (this.busy(datanode)) this.free.delete(datanode)
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
    for (const [key, { atMs }] of this.condemned) {
      if (now - atMs < this.pendingTimeoutMs) break
      this.condemned.delete(key)
    }
    for (const [key, pending] of this.pending) {
      if (pending.deadlineMs > now) continue
      this.cancel(key, pending)
      this.sweepWanted = true
    }
  }

  /** Liveness or admin changes touch many blocks at once: rescan when any datanode changes. */
  private noticeStateChanges (): void {
    const states = new Map<number, string>()
    for (const r of this.state.registry.all()) {
      const now = `${this.state.registry.stateOf(r)}/${r.admin}`
      states.set(r.index, now)
      if (this.lastStates.get(r.index) !== now) {
        this.sweepWanted = true
        // work queued for a datanode that died will never be picked up
        if (now.startsWith('dead')) this.forget(r.index)
      }
    }
    this.lastStates = states
  }

  private forget (datanode: number): void {
    for (const command of this.outbox.get(datanode) ?? []) {
      if (command.kind === 'delete' && command.gc) this.queuedGcDeletes -= command.mhs.length
    }
    if (this.queuedGcDeletes === 0) this.pardoned.clear()
    this.outbox.delete(datanode)
    for (const [key, pending] of this.pending) {
      if (pending.source === datanode || pending.targets.includes(datanode)) this.cancel(key, pending)
    }
    for (const [key, set] of this.deleting) {
      set.delete(datanode)
      if (set.size === 0) this.deleting.delete(key)
    }
    for (const [key, entry] of this.condemned) {
      if (!entry.datanodes.includes(datanode)) continue
      entry.datanodes = entry.datanodes.filter((d) => d !== datanode)
      if (entry.datanodes.length === 0) this.condemned.delete(key)
    }
  }

  /** `settled`: nothing changed many blocks while the sweep ran, so a datanode with nothing left to move may be declared retired. */
  private updateRetiring (toMove: Map<number, number>, settled: boolean): void {
    this.toMove.clear()
    for (const r of this.state.registry.all()) {
      if (r.admin !== 'decommissioning') continue
      const left = toMove.get(r.index) ?? 0
      this.toMove.set(r.index, left)
      if (left === 0 && settled) {
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

function emptyCounts (): HealthCounts {
  return { pinned: 0, healthy: 0, underReplicated: 0, overReplicated: 0, misplaced: 0, missing: 0, corrupt: 0, readable: 0 }
}

