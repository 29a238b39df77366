import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { planBalance } from '../../namenode/balance.ts'
import { ReplicationMonitor } from '../../namenode/replication.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { offlineState } from '../helpers/namenode-state.ts'
import { countTurns } from '../helpers/turns.ts'

/**
 * The balancer's planning over real namenode state. A round plans only as
 * many moves as transfer slots allow; it used to walk every block once per
 * source to find them (seconds at a million blocks, the namenode held).
 */
let dir: string
let state: NamenodeState

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-balance-'))
  state = offlineState(dir, () => 1_000_000, { hashSeed: 5 })
})
afterEach(async () => {
  state.store.close()
  await rm(dir, { recursive: true, force: true })
})

function register (id: string, usedBytes: number): number {
  return state.registry.register({
    datanode: { id, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${id}`] },
    version: 'test',
    capacityBytes: 1_000_000,
    availableBytes: 1_000_000 - usedBytes,
    usedBytes,
    blocks: 0
  }).record.index
}

/** `n` blocks of 200 bytes (named `${prefix} ${i}`) with a copy on each of `holders`, wanting `want` copies. */
async function storeBlocks (prefix: string, n: number, holders: number[], want: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const mh = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`${prefix} ${i}`))).multihash.bytes
    for (const d of holders) state.blocks.addReplica(mh, 200, d)
    state.blocks.setWant(mh, want)
  }
}

describe('balance', () => {
  it('plans a round of moves from the full datanode to the empty one, stopping once its transfer slots are taken', async () => {
    const full = register('full', 600_000)
    const empty = register('empty', 0)
    await storeBlocks('b', 3_000, [full], 1)
    const monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 4 })
    const { result, turns } = await countTurns(planBalance(state, monitor, { thresholdPercent: 10 }, false, { sliceMs: 0, checkEvery: 1 }))
    expect(result).toMatchObject({ planned: 4, bytes: 800, inFlight: 4, balanced: false })
    // four moves need four blocks looked at, not a pass over 3,000 a turn each
    expect(turns).toBeLessThan(20)
    const orders = monitor.takeCommands(full)
    expect(orders).toHaveLength(4)
    for (const order of orders) expect(order).toMatchObject({ kind: 'replicate', targets: [{ id: 'empty' }] })
    expect(monitor.takeCommands(empty)).toEqual([])
  })

  it('goes through every block in slices when few can move, and plans none where the target holds them all', async () => {
    const full = register('full', 600_000)
    const other = register('other', 0)
    await storeBlocks('c', 500, [full, other], 2)
    const monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 4 })
    const { result, turns } = await countTurns(planBalance(state, monitor, { thresholdPercent: 10 }, false, { sliceMs: 0, checkEvery: 10 }))
    // nowhere to move anything: as balanced as it gets, found by a whole pass of 50 slices
    expect(result).toMatchObject({ planned: 0, balanced: true })
    expect(turns).toBeGreaterThanOrEqual(50)
  })

  it('plans nothing while transfer slots are busy, and does not call the cluster balanced', async () => {
    const full = register('full', 600_000)
    const empty = register('empty', 0)
    await storeBlocks('d', 50, [full], 2)
    const monitor = new ReplicationMonitor(state, { maxTransfersPerDatanode: 2 })
    // repairs (each block wants a second copy) take the empty datanode's slots first
    monitor.tick(true)
    expect(monitor.hasFreeSlot(empty)).toBe(false)
    const result = await planBalance(state, monitor, { thresholdPercent: 10 }, false)
    expect(result).toMatchObject({ planned: 0, balanced: false })
  })
})
