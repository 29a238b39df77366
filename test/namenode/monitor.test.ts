import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import type { DatanodeCommand } from '../../core/index.ts'
import { classify } from '../../namenode/health.ts'
import type { HealthCounts } from '../../namenode/replication.ts'
import { DECOMMISSION_SWEEP_GAP_MS, MAX_CIDS_PER_REPLY, ReplicationMonitor } from '../../namenode/replication.ts'
import { FLAG_CORRUPT_SEEN, copiesOf } from '../../namenode/state.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { prng } from '../helpers/data.ts'
import { offlineState } from '../helpers/namenode-state.ts'

/**
 * The replication monitor driven by hand: real state, a fake clock, no
 * network. Each step is a decision the namenode must make the same way
 * every time.
 */
let dir: string
let now = 1_000_000
let state: NamenodeState
let monitor: ReplicationMonitor

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-mon-'))
  now = 1_000_000
  const clock = (): number => now
  state = offlineState(dir, clock, { hashSeed: 1 })
  monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 2, pendingTimeoutMs: 60_000 })
})
afterEach(async () => {
  state.store.close()
  await rm(dir, { recursive: true, force: true })
})

function register (id: string, availableBytes = 1_000_000, rack?: string): number {
  const { record } = state.registry.register({
    datanode: { id, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${id}`] },
    version: 'test',
    capacityBytes: 2_000_000,
    availableBytes,
    usedBytes: 0,
    blocks: 0,
    ...(rack === undefined ? {} : { rack })
  })
  return record.index
}

function beat (...indexes: number[]): void {
  for (const i of indexes) {
    const r = state.registry.at(i)!
    state.registry.heartbeat(r.id, r.usage, 0)
  }
}

async function block (n: number): Promise<Uint8Array> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`block ${n}`))).multihash.bytes
}

function commands (datanode: number): DatanodeCommand[] {
  return monitor.takeCommands(datanode)
}

/** Every copy the monitor ordered of `sources` lands now, as fast as datanodes could make them. Returns how many. */
function landCopies (sources: number[]): number {
  let landed = 0
  for (const source of sources) {
    for (const order of commands(source)) {
      if (order.kind !== 'replicate') continue
      for (const target of order.targets) {
        const index = state.registry.get(target.id)!.index
        state.blocks.addReplica(order.cid.multihash.bytes, 100, index)
        monitor.replicaAdded(order.cid.multihash.bytes, index)
        landed++
      }
    }
  }
  return landed
}

describe('replication monitor', () => {
  it('does nothing while every pinned block has its copies', async () => {
    const [a, b, c] = [register('a'), register('b'), register('c')]
    const mh = await block(1)
    state.blocks.addReplica(mh, 100, a)
    state.blocks.addReplica(mh, 100, b)
    state.blocks.setWant(mh, 2)
    monitor.tick(true)
    expect([commands(a), commands(b), commands(c)]).toEqual([[], [], []])
    expect(monitor.counts).toMatchObject({ pinned: 1, healthy: 1 })
  })

  it('copies the blocks of a datanode once it is dead, from a surviving copy to a datanode without one', async () => {
    const [a, b, c] = [register('a'), register('b'), register('c')]
    const mh = await block(1)
    state.blocks.addReplica(mh, 100, a)
    state.blocks.addReplica(mh, 100, b)
    state.blocks.setWant(mh, 2)
    monitor.tick(true)

    now += 29_000
    beat(a, c)
    monitor.tick(true)
    expect(commands(a)).toEqual([]) // b is stale, not dead: its copy still counts

    now += 2_000
    beat(a, c)
    monitor.tick(true)
    expect(monitor.counts.underReplicated).toBe(1)
    const [order] = commands(a)
    expect(order?.kind).toBe('replicate')
    expect(order?.kind === 'replicate' && order.targets.map((t) => t.id)).toEqual(['c'])

    // the copy lands: no more work, and the block is healthy at the next scan
    state.blocks.addReplica(mh, 100, c)
    monitor.replicaAdded(mh, c)
    now += 1_500
    monitor.tick(true)
    expect(commands(a)).toEqual([])
    expect(monitor.counts).toMatchObject({ underReplicated: 0, healthy: 1 })
  })

  it('when the source of a copy turns out to hold a rotten copy, the copy is ordered from another at once', async () => {
    const [a, b, c] = [register('a'), register('b'), register('c')]
    const mh = await block(1)
    for (const d of [a, b, c]) state.blocks.addReplica(mh, 100, d)
    state.blocks.setWant(mh, 3)
    monitor.tick(true)

    // c reports its copy corrupt; the namenode cannot know yet that another copy is rotten too
    state.blocks.removeReplica(mh, c)
    monitor.replicaRemoved(mh, c)
    monitor.tick(true)
    const fromA = commands(a)
    const fromB = commands(b)
    expect(fromA.length + fromB.length).toBe(1)
    const [source, other] = fromA.length === 1 ? [a, b] : [b, a]

    // the source finds its own copy rotten when it reads it for the transfer
    state.blocks.removeReplica(mh, source)
    monitor.replicaRemoved(mh, source)
    monitor.tick(true)
    const [order] = commands(other)
    expect(order?.kind).toBe('replicate')
    // both c and the source get the good copy now, not after the first order's 60 s timeout
    const ids = (order?.kind === 'replicate' ? order.targets.map((t) => t.id) : []).sort()
    expect(ids).toEqual([state.registry.at(c)!.id, state.registry.at(source)!.id].sort())
  })

  it('repairs the block down to its last copy before one with two left', async () => {
    const [a, b, c, d] = [register('a'), register('b'), register('c'), register('d')]
    const lonely = await block(1)
    const pair = await block(2)
    state.blocks.addReplica(lonely, 100, a)
    state.blocks.setWant(lonely, 3)
    state.blocks.addReplica(pair, 100, a)
    state.blocks.addReplica(pair, 100, b)
    state.blocks.setWant(pair, 3)
    // a can send one copy at a time in this test; it must be the lonely block's
    monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 1 })
    monitor.tick(true)
    const fromA = commands(a)
    expect(fromA).toHaveLength(1)
    expect(fromA[0]?.kind === 'replicate' && fromA[0].cid.multihash.bytes).toEqual(lonely)
    void [c, d]
  })

  it('never sends more than the throttle to one datanode, and reschedules copies that never arrive', async () => {
    const [a, b] = [register('a'), register('b')]
    const blocks = await Promise.all([1, 2, 3, 4, 5].map(block))
    for (const mh of blocks) {
      state.blocks.addReplica(mh, 100, a)
      state.blocks.setWant(mh, 2)
    }
    monitor.tick(true)
    expect(commands(a)).toHaveLength(2)
    now += 1_500
    monitor.tick(true)
    expect(commands(a)).toHaveLength(0) // both slots still busy
    now += 61_000
    beat(a, b)
    monitor.tick(true)
    expect(commands(a)).toHaveLength(2) // the first two timed out and go again (or others take their place)
  })

  it('hands out a datanode\'s queued deletes a bounded batch per reply, each exactly once', async () => {
    const a = register('a')
    const blocks = await Promise.all(Array.from({ length: 20_000 }, async (_, i) => await block(i)))
    for (const mh of blocks) monitor.condemn(mh, [a])
    const seen = new Set<string>()
    let replies = 0
    for (let batch = commands(a); batch.length > 0; batch = commands(a)) {
      replies++
      const cids = batch.flatMap((c) => (c.kind === 'delete' ? c.cids : []))
      expect(cids.length).toBeLessThanOrEqual(MAX_CIDS_PER_REPLY)
      for (const cid of cids) seen.add(cid.toString())
    }
    expect(seen.size).toBe(20_000)
    expect(replies).toBe(Math.ceil(20_000 / MAX_CIDS_PER_REPLY))
    expect(seen.has(CID.createV1(raw.code, Digest.decode(Uint8Array.from(blocks[7]!))).toString())).toBe(true)
  })

  it('a block wanted again after gc condemned it loses the delete orders still queued for it; condemned again, it is deleted', async () => {
    const a = register('a')
    const blocks = await Promise.all(Array.from({ length: 10 }, async (_, i) => await block(i)))
    for (const mh of blocks) monitor.condemn(mh, [a])
    // a put sends blocks 0-4 again before a's next heartbeat takes its orders
    for (const mh of blocks.slice(0, 5)) monitor.pardon(mh)
    const cidOf = (mh: Uint8Array): string => CID.createV1(raw.code, Digest.decode(Uint8Array.from(mh))).toString()
    const deleted = (batch: DatanodeCommand[]): string[] => batch.flatMap((c) => (c.kind === 'delete' ? c.cids.map(String) : []))
    expect(deleted(commands(a)).sort()).toEqual(blocks.slice(5).map(cidOf).sort())
    // a later gc condemns block 0 afresh: that order goes out
    monitor.condemn(blocks[0]!, [a])
    expect(deleted(commands(a))).toEqual([cidOf(blocks[0]!)])
  })

  it('trims an over-replicated block from the fullest datanode, keeping enough copies', async () => {
    const [a, b, c] = [register('a', 900), register('b', 100), register('c', 500)]
    const mh = await block(1)
    for (const d of [a, b, c]) state.blocks.addReplica(mh, 100, d)
    state.blocks.setWant(mh, 2)
    monitor.tick(true)
    expect(commands(b)).toEqual([{ kind: 'delete', cids: [CID.createV1(raw.code, (await import('multiformats/hashes/digest')).decode(mh))] }])
    expect([commands(a), commands(c)]).toEqual([[], []])
    // not twice: the delete is in flight
    now += 1_500
    monitor.tick(true)
    expect(commands(b)).toEqual([])
  })

  it('decides nothing in safe mode, but still counts', async () => {
    const [a, b] = [register('a'), register('b')]
    const mh = await block(1)
    state.blocks.addReplica(mh, 100, a)
    state.blocks.setWant(mh, 2)
    monitor.tick(false)
    expect(commands(a)).toEqual([])
    expect(monitor.counts.underReplicated).toBe(1)
    void b
  })

  it('puts a copy on another rack when every copy shares one', async () => {
    const [a1, a2, b1] = [register('a1', 1_000, 'a'), register('a2', 1_000, 'a'), register('b1', 1_000, 'b')]
    const mh = await block(1)
    state.blocks.addReplica(mh, 100, a1)
    state.blocks.addReplica(mh, 100, a2)
    state.blocks.setWant(mh, 2)
    monitor.tick(true)
    expect(monitor.counts.misplaced).toBe(1)
    const orders = [...commands(a1), ...commands(a2)]
    expect(orders).toHaveLength(1)
    expect(orders[0]?.kind === 'replicate' && orders[0].targets.map((t) => t.id)).toEqual(['b1'])
    void b1
  })
})

/** The counts a scan of every block from scratch would give, worked out here rather than by the monitor. */
function countFromScratch (): HealthCounts {
  const counts: HealthCounts = { pinned: 0, readable: 0, healthy: 0, underReplicated: 0, overReplicated: 0, misplaced: 0, missing: 0, corrupt: 0 }
  const racks = new Set(state.registry.writable().map((r) => r.rack).filter((r) => r !== undefined)).size
  const field = { healthy: 'healthy', 'under-replicated': 'underReplicated', 'over-replicated': 'overReplicated', misplaced: 'misplaced', missing: 'missing', corrupt: 'corrupt' } as const
  state.blocks.forEach((_mh, info) => {
    if (info.want === 0) return
    const copies = copiesOf(state, info)
    const health = classify({ want: info.want, copies, rackOf: (d) => state.registry.at(d)?.rack, racks, corruptSeen: (info.flags & FLAG_CORRUPT_SEEN) !== 0 })
    counts.pinned++
    if (copies.good.length + copies.retiring.length > 0) counts.readable++
    counts[field[health]]++
  })
  return counts
}

describe('replication monitor health counts', () => {
  // Before, the counts came only from scans of every block (O(blocks), about
  // 0.4 s per million), run after every put and every copy that landed.
  // slice 7: a sweep takes a dozen rounds, so datanodes die and return in the middle of them
  it.each([[1, 50_000], [2, 50_000], [3, 50_000], [4, 7], [5, 7], [6, 7]])('follow every change while rounds look only at the blocks that changed (seed %i, sweep slice %i)', async (seed, slice) => {
    const rand = prng(seed)
    const below = (n: number): number => Math.floor(rand() * n)
    monitor = new ReplicationMonitor(state, { sweepIntervalMs: 1e12, sweepSliceBlocks: slice })
    const datanodes = [register('a', 1e9, 'r1'), register('b', 1e9, 'r1'), register('c', 1e9, 'r2'), register('d', 1e9, 'r2')]
    const blocks = await Promise.all(Array.from({ length: 80 }, async (_, i) => await block(i)))
    const alive = new Set(datanodes)
    monitor.tick(false)
    let partial = 0
    let settled = 0
    for (let step = 0; step < 400; step++) {
      const touched = new Set<number>()
      for (let i = 1 + below(6); i > 0; i--) {
        const b = below(blocks.length)
        const mh = blocks[b]!
        const d = datanodes[below(datanodes.length)]!
        switch (below(4)) {
          case 0:
            state.blocks.addReplica(mh, 100, d)
            monitor.replicaAdded(mh, d)
            touched.add(b)
            break
          case 1:
            state.blocks.removeReplica(mh, d)
            monitor.replicaRemoved(mh, d)
            touched.add(b)
            break
          case 2: {
            // wants only rise between recounts
            const want = state.blocks.get(mh)?.want ?? 0
            if (want < 4) state.blocks.setWant(mh, want + 1)
            monitor.touch(mh)
            touched.add(b)
            break
          }
          default: {
            // a copy found corrupt, as the datanode handlers record it
            const info = state.blocks.get(mh)
            if (info === undefined || !info.replicas.includes(d)) break
            state.blocks.removeReplica(mh, d)
            state.blocks.setFlags(mh, info.flags | FLAG_CORRUPT_SEEN)
            monitor.replicaRemoved(mh, d)
            touched.add(b)
          }
        }
      }
      // now and then a datanode dies or comes back: that touches every block it holds, so a full scan follows
      if (below(25) === 0) {
        const d = datanodes[below(datanodes.length)]!
        if (alive.has(d) && alive.size > 1) {
          alive.delete(d)
          now += 31_000
        } else {
          alive.add(d)
        }
      }
      now += 1_100
      beat(...alive)
      monitor.tick(false)
      // each changed block still in the table, and nothing else; a sweep at most a slice
      expect(monitor.lastRound.looked).toBe([...touched].filter((b) => state.blocks.has(blocks[b]!)).length)
      expect(monitor.lastRound.swept).toBeLessThanOrEqual(slice)
      if (monitor.lastRound.swept === 0) partial++
      // exact once a sweep that began after the last datanode change has ended (at once, with no datanode change)
      if (monitor.settled) {
        settled++
        expect(monitor.counts).toEqual(countFromScratch())
      }
    }
    expect(partial).toBeGreaterThan(slice === 7 ? 150 : 300)
    expect(settled).toBeGreaterThan(slice === 7 ? 150 : 300)
    expect(monitor.counts.pinned).toBeGreaterThan(20)
  })


  it('a put\'s blocks are counted as soon as they are pinned, without a scan of every block', async () => {
    const [a, b] = [register('a'), register('b')]
    const old = await Promise.all([1, 2, 3].map(block))
    for (const mh of old) {
      state.blocks.addReplica(mh, 100, a)
      state.blocks.setWant(mh, 1)
    }
    monitor = new ReplicationMonitor(state, { sweepIntervalMs: 1e12 })
    monitor.tick(true)
    expect(monitor.lastRound).toEqual({ looked: 0, swept: 3, sweeping: false })
    const added = await Promise.all([4, 5].map(block))
    for (const mh of added) {
      for (const d of [a, b]) {
        state.blocks.addReplica(mh, 100, d)
        monitor.replicaAdded(mh, d)
      }
    }
    now += 1_500
    beat(a, b)
    monitor.tick(true)
    // stored but not pinned yet: not counted
    expect(monitor.counts).toMatchObject({ pinned: 3, healthy: 3 })
    for (const mh of added) {
      state.blocks.setWant(mh, 2)
      monitor.touch(mh)
    }
    now += 1_500
    beat(a, b)
    monitor.tick(true)
    expect(monitor.lastRound).toEqual({ looked: 2, swept: 0, sweeping: false })
    expect(monitor.counts).toMatchObject({ pinned: 5, healthy: 5, readable: 5 })
  })
})

describe('replication monitor at scale', () => {
  // Before, every round looked again at every block waiting for a copy, and
  // a sweep was one pass with the event loop held: with a million blocks, a
  // datanode's death made each round take seconds (measured: 9 s median)
  // while only a few dozen copies could start per round.
  it('repairs every block of a dead datanode while each round looks at a bounded number of blocks', async () => {
    const [a, b, c, d] = [register('a', 1e9), register('b', 1e9), register('c', 1e9), register('d', 1e9)]
    const blocks = await Promise.all(Array.from({ length: 600 }, async (_, i) => await block(i)))
    blocks.forEach((mh, i) => {
      for (let r = 0; r < 3; r++) state.blocks.addReplica(mh, 100, [a, b, c, d][(i + r) % 4]!)
      state.blocks.setWant(mh, 3)
    })
    const limits = { sweepSliceBlocks: 50, backlogPerRound: 20, backlogLimit: 100 }
    monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 2, sweepIntervalMs: 1e12, ...limits })
    monitor.tick(true)
    while (!monitor.settled) monitor.tick(true)
    expect(monitor.counts).toMatchObject({ pinned: 600, healthy: 600 })

    now += 31_000
    beat(a, b, c)
    let landed = 0
    let rounds = 0
    for (; rounds < 2_000; rounds++) {
      monitor.tick(true)
      // the blocks whose copies just landed, then at most a budget of waiting ones; a sweep a slice at a time
      expect(monitor.lastRound.looked).toBeLessThanOrEqual(landed + limits.backlogPerRound)
      expect(monitor.lastRound.swept).toBeLessThanOrEqual(limits.sweepSliceBlocks)
      expect(monitor.waiting).toBeLessThanOrEqual(limits.backlogLimit)
      if (monitor.settled && monitor.counts.underReplicated === 0) break
      landed = landCopies([a, b, c])
      now += 20
      beat(a, b, c)
    }
    // 450 blocks lost a copy, and the backlog holds 100: the rest were found again by later sweeps
    expect(rounds).toBeLessThan(2_000)
    for (const mh of blocks) expect(state.blocks.get(mh)!.replicas.filter((r) => r !== d)).toHaveLength(3)
    expect(monitor.counts).toEqual(countFromScratch())
    expect(monitor.counts).toMatchObject({ pinned: 600, healthy: 600, underReplicated: 0 })
  })
})

describe('replication monitor decommissioning at scale', () => {
  // Before, every copy that landed while a datanode was retiring asked for
  // a sweep over every block (what is left to move was counted by sweeps
  // only): with a million blocks, sweeps ran back to back for the whole
  // decommission, about half the namenode's time.
  it.each([
    // the old code: 23% of rounds swept, the new 11%
    { backlogLimit: 1_000, stepMs: 20, maxSweepingShare: 0.15 },
    // the backlog cannot hold what d has to move (sweeps find the rest as it drains), and
    // the copies take over 30 s of (fake) time: the old code swept back to back (97% of
    // rounds), the new 47%, most of it the sweeps that refill the backlog
    { backlogLimit: 100, stepMs: 200, maxSweepingShare: 0.6 }
  ])('moves every block off a retiring datanode with few sweeps, then declares it decommissioned (backlog $backlogLimit, $stepMs ms a round)', async ({ backlogLimit, stepMs, maxSweepingShare }) => {
    const [a, b, c, d] = [register('a', 1e9), register('b', 1e9), register('c', 1e9), register('d', 1e9)]
    const blocks = await Promise.all(Array.from({ length: 600 }, async (_, i) => await block(i)))
    blocks.forEach((mh, i) => {
      for (let r = 0; r < 3; r++) state.blocks.addReplica(mh, 100, [a, b, c, d][(i + r) % 4]!)
      state.blocks.setWant(mh, 3)
    })
    const limits = { sweepSliceBlocks: 50, backlogPerRound: 20, backlogLimit }
    monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 2, sweepIntervalMs: 60_000, ...limits })
    while (!monitor.settled) monitor.tick(true)

    const retiring = state.registry.at(d)!
    state.registry.setAdmin(retiring, 'decommissioning')
    monitor.rescan()
    let sweepingRounds = 0
    let rounds = 0
    const toMoveSeen: number[] = []
    for (; rounds < 5_000 && retiring.admin !== 'decommissioned'; rounds++) {
      monitor.tick(true)
      if (monitor.lastRound.swept > 0) sweepingRounds++
      const left = monitor.toMove.get(d)
      if (left !== undefined && left !== toMoveSeen.at(-1)) toMoveSeen.push(left)
      landCopies([a, b, c, d])
      now += stepMs
      beat(a, b, c, d)
    }
    expect(retiring.admin).toBe('decommissioned')
    // 450 blocks had a copy on d; each now has 3 copies without it
    for (const mh of blocks) expect(state.blocks.get(mh)!.replicas.filter((r) => r !== d)).toHaveLength(3)
    expect(toMoveSeen[0]).toBe(450)
    expect(toMoveSeen.at(-1)).toBe(0)
    expect(sweepingRounds).toBeLessThanOrEqual(rounds * maxSweepingShare)
    // while copies land for more than DECOMMISSION_SWEEP_GAP_MS, the figure users watch moves
    if (rounds * stepMs > 2 * DECOMMISSION_SWEEP_GAP_MS) expect(toMoveSeen.length).toBeGreaterThan(3)
  })
})
