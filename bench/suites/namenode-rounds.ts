/**
 * How long the namenode's replication monitor holds the event loop with a
 * million blocks: the real ReplicationMonitor over a real BlockTable,
 * registry and metadata store, driven by a fake clock in this process (no
 * network: what is measured is the namenode's own work per round).
 *
 * Three scenes, each round timed: the periodic sweep of a healthy cluster,
 * the rounds after one of four datanodes dies (a quarter of the blocks
 * lose a copy), and the rounds while one of them is decommissioned (three
 * quarters of the blocks need a copy elsewhere), with every copy the
 * monitor orders landing before the next round, as fast as the datanodes
 * could make them.
 */
import { randomFillSync } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import path from 'node:path'
import { collectGarbage } from '../../namenode/gc.ts'
import { Leases } from '../../namenode/leases.ts'
import { ReplicationMonitor } from '../../namenode/replication.ts'
import { SafeMode } from '../../namenode/safe-mode.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { offlineState } from '../../test/helpers/namenode-state.ts'
import { formatSpread, spread } from '../lib/stats.ts'
import type { Spread } from '../lib/stats.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'

const BLOCKS = 1_000_000
const BLOCK_SIZE = 256 * 1024
/** Rounds timed after the death; the monitor's default is one a second plus early ones as copies land. */
const REPAIR_ROUNDS = 200
/** What the namenode's nudge waits between rounds while copies land or a sweep runs. */
const ROUND_GAP_MS = 20
/** Rounds timed while a datanode retires, and the time between them (copies land in between). */
const RETIRE_ROUNDS = 200
const RETIRE_GAP_MS = 100

interface Sample {
  sweepMaxMs: number
  sweepTotalMs: number
  sweepRounds: number
  repairMaxMs: number
  repairMedianMs: number
  repairTotalMs: number
  copies: number
  retireTotalMs: number
  retireSweepingShare: number
  retireCopies: number
  gcMs: number
  gcLongestHoldMs: number
  gcBlocks: number
  afterGcRoundMs: number
}

export const namenodeRoundsSuite: Suite = {
  name: 'namenode-rounds',
  description: `replication monitor rounds over ${BLOCKS.toLocaleString('en-US')} blocks: a periodic sweep, and repair after a datanode dies`,
  run
}

async function run (ctx: SuiteContext): Promise<string[]> {
  const samples: Sample[] = []
  for (let i = 1; i <= ctx.options.runs; i++) {
    ctx.log(`namenode-rounds: run ${i}/${ctx.options.runs}`)
    samples.push(await scene(ctx.dir))
  }
  const pick = (f: (s: Sample) => number): Spread => spread(samples.map(f))
  const ms = (f: (s: Sample) => number, digits = 0): string => formatSpread(pick(f), digits, ' ms')
  ctx.print(renderTable({
    title: `namenode-rounds: ${BLOCKS.toLocaleString('en-US')} blocks of 256 KiB, 3 copies on 4 datanodes, ${ctx.options.runs} run${ctx.options.runs === 1 ? '' : 's'}`,
    head: ['scene', 'longest round', 'median round', 'all rounds', 'rounds'],
    rows: [
      ['periodic sweep (healthy cluster)', ms((s) => s.sweepMaxMs), '', ms((s) => s.sweepTotalMs), formatSpread(pick((s) => s.sweepRounds), 0)],
      [`after a datanode dies (${REPAIR_ROUNDS} rounds)`, ms((s) => s.repairMaxMs), ms((s) => s.repairMedianMs, 2), ms((s) => s.repairTotalMs), String(REPAIR_ROUNDS)],
      [`decommissioning a datanode (${RETIRE_ROUNDS} rounds, ${RETIRE_GAP_MS} ms apart)`, '', '', ms((s) => s.retireTotalMs), String(RETIRE_ROUNDS)],
      ['gc, half the blocks unpinned (longest hold of the event loop)', ms((s) => s.gcLongestHoldMs), '', ms((s) => s.gcMs), ''],
      ['a round after that gc (its 500,000 delete orders pending)', '', ms((s) => s.afterGcRoundMs, 2), '', '20']
    ],
    notes: [
      'median (min-max) over runs; a round holds the namenode\'s event loop for its whole length (heartbeats, puts and reads wait)',
      `copies ordered in the ${REPAIR_ROUNDS} repair rounds: ${formatSpread(pick((s) => s.copies), 0)} (16 transfers per datanode at once, each landing before the next round)`,
      `decommissioning: ${formatSpread(pick((s) => s.retireCopies), 0)} copies ordered, rounds with a sweep under way ${formatSpread(pick((s) => 100 * s.retireSweepingShare), 0, '%')}`,
      `gc: ${formatSpread(pick((s) => s.gcBlocks), 0)} blocks condemned; the hold is the longest gap between 1 ms timer ticks while it ran`
    ]
  }))
  return [`longest round ${pick((s) => s.sweepMaxMs).median.toFixed(0)} ms in a sweep of ${BLOCKS.toLocaleString('en-US')} blocks, ${pick((s) => s.repairMaxMs).median.toFixed(0)} ms (median ${pick((s) => s.repairMedianMs).median.toFixed(2)} ms) while repairing a dead datanode's blocks`]
}

async function scene (parent: string): Promise<Sample> {
  return { ...await sweepAndRepair(parent), ...await decommission(parent), ...await gc(parent) }
}

async function sweepAndRepair (parent: string): Promise<Pick<Sample, 'sweepMaxMs' | 'sweepTotalMs' | 'sweepRounds' | 'repairMaxMs' | 'repairMedianMs' | 'repairTotalMs' | 'copies'>> {
  return await withBlocks(parent, (state, datanodes, clock) => {
    const monitor = new ReplicationMonitor(state)
    const timed = (): number => {
      const started = performance.now()
      monitor.tick(true)
      return performance.now() - started
    }
    // the first sweep, then the periodic one, timed
    while (!monitor.settled) timed()
    clock.now += 61_000
    beat(state, datanodes)
    const sweep: number[] = [timed()]
    while (monitor.sweeping) {
      clock.now += ROUND_GAP_MS
      sweep.push(timed())
    }

    const alive = datanodes.slice(0, 3)
    clock.now += 31_000
    beat(state, alive)
    const repair: number[] = []
    let copies = 0
    for (let round = 0; round < REPAIR_ROUNDS; round++) {
      repair.push(timed())
      copies += landOrders(state, monitor, alive)
      clock.now += ROUND_GAP_MS
      beat(state, alive)
    }
    return {
      sweepMaxMs: Math.max(...sweep),
      sweepTotalMs: sweep.reduce((a, b) => a + b, 0),
      sweepRounds: sweep.length,
      repairMaxMs: Math.max(...repair),
      repairMedianMs: spread(repair).median,
      repairTotalMs: repair.reduce((a, b) => a + b, 0),
      copies
    }
  })
}

/** One of four datanodes retires: the rounds while its blocks get copies elsewhere. */
async function decommission (parent: string): Promise<Pick<Sample, 'retireTotalMs' | 'retireSweepingShare' | 'retireCopies'>> {
  return await withBlocks(parent, (state, datanodes, clock) => {
    const monitor = new ReplicationMonitor(state)
    while (!monitor.settled) monitor.tick(true)
    const retiring = state.registry.at(datanodes[3] as number)
    if (retiring === undefined) throw new Error('no datanode to retire')
    state.registry.setAdmin(retiring, 'decommissioning')
    monitor.rescan()
    let totalMs = 0
    let sweeping = 0
    let copies = 0
    for (let round = 0; round < RETIRE_ROUNDS; round++) {
      const started = performance.now()
      monitor.tick(true)
      totalMs += performance.now() - started
      if (monitor.lastRound.swept > 0) sweeping++
      copies += landOrders(state, monitor, datanodes)
      clock.now += RETIRE_GAP_MS
      beat(state, datanodes)
    }
    return { retireTotalMs: totalMs, retireSweepingShare: sweeping / RETIRE_ROUNDS, retireCopies: copies }
  })
}

/** A namenode's state (offline, real) with four datanodes and BLOCKS pinned blocks, for one scene; `clock.now` is its time. */
async function withBlocks<T> (parent: string, scene: (state: NamenodeState, datanodes: number[], clock: { now: number }) => T | Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(parent, 'nn-'))
  const clock = { now: 1_000_000 }
  const state = offlineState(dir, () => clock.now)
  try {
    const datanodes = registerFour(state)
    fillBlocks(state, datanodes)
    return await scene(state, datanodes, clock)
  } finally {
    state.store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Heartbeats from these datanodes, now. */
function beat (state: NamenodeState, datanodes: number[]): void {
  for (const i of datanodes) {
    const r = state.registry.at(i)
    if (r !== undefined) state.registry.heartbeat(r.id, r.usage, 0)
  }
}

function registerFour (state: NamenodeState): number[] {
  return ['a', 'b', 'c', 'd'].map((id) => state.registry.register({
    datanode: { id, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${id}`] },
    version: 'bench',
    capacityBytes: 1e15,
    availableBytes: 1e15,
    usedBytes: 0,
    blocks: 0
  }).record.index)
}

/** BLOCKS random blocks, 3 copies each spread round the four datanodes, all pinned. */
function fillBlocks (state: NamenodeState, datanodes: number[]): void {
  const digests = new Uint8Array(BLOCKS * 34)
  randomFillSync(digests)
  for (let i = 0; i < BLOCKS; i++) {
    const mh = digests.subarray(i * 34, i * 34 + 34)
    mh[0] = 0x12
    mh[1] = 0x20
    for (let r = 0; r < 3; r++) state.blocks.addReplica(mh, BLOCK_SIZE, datanodes[(i + r) % 4] as number)
    state.blocks.setWant(mh, 3)
  }
}

/** Every copy the monitor ordered of `sources` lands at once. Returns how many. */
function landOrders (state: NamenodeState, monitor: ReplicationMonitor, sources: number[]): number {
  let copies = 0
  for (const source of sources) {
    for (const order of monitor.takeCommands(source)) {
      if (order.kind !== 'replicate') continue
      for (const target of order.targets) {
        const index = state.registry.get(target.id)?.index
        if (index === undefined) continue
        state.blocks.addReplica(order.cid.multihash.bytes, BLOCK_SIZE, index)
        monitor.replicaAdded(order.cid.multihash.bytes, index)
        copies++
      }
    }
  }
  return copies
}

/** gc of a namenode where half the blocks are no longer pinned, timed with the event loop watched. */
async function gc (parent: string): Promise<Pick<Sample, 'gcMs' | 'gcLongestHoldMs' | 'gcBlocks' | 'afterGcRoundMs'>> {
  return await withBlocks(parent, async (state, datanodes, clock) => {
    // half the blocks lose their pin (setWant is not allowed inside forEach)
    const unpinned: Uint8Array[] = []
    let i = 0
    state.blocks.forEach((mh) => { if (i++ % 2 === 0) unpinned.push(Uint8Array.from(mh)) })
    for (const mh of unpinned) state.blocks.setWant(mh, 0)
    clock.now += 3_600_000
    beat(state, datanodes)
    const monitor = new ReplicationMonitor(state)
    const safeMode = new SafeMode()
    safeMode.leave()
    let longest = 0
    let last = performance.now()
    const watch = setInterval(() => {
      const t = performance.now()
      longest = Math.max(longest, t - last)
      last = t
    }, 1)
    const started = performance.now()
    last = started
    const result = await collectGarbage({ state, monitor, leases: new Leases(() => clock.now), safeMode, graceMs: 600_000 }, {})
    const gcMs = performance.now() - started
    clearInterval(watch)
    longest = Math.max(longest, performance.now() - last)
    // rounds while the deletes are still out (a datanode that keeps a block never reports it gone)
    const rounds: number[] = []
    for (let round = 0; round < 20; round++) {
      clock.now += ROUND_GAP_MS
      const started = performance.now()
      monitor.tick(true)
      rounds.push(performance.now() - started)
    }
    return { gcMs, gcLongestHoldMs: longest, gcBlocks: result.blocks, afterGcRoundMs: spread(rounds).median }
  })
}
