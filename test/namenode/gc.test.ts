import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { blockKey } from '../../core/index.ts'
import { collectGarbage } from '../../namenode/gc.ts'
import type { GcDeps } from '../../namenode/gc.ts'
import { Leases } from '../../namenode/leases.ts'
import { addPin, removePin } from '../../namenode/pins.ts'
import { ReplicationMonitor } from '../../namenode/replication.ts'
import { SafeMode } from '../../namenode/safe-mode.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { prng } from '../helpers/data.ts'
import { offlineState } from '../helpers/namenode-state.ts'

/**
 * gc over real namenode state, driven by hand. At a million blocks a gc
 * that walked every block in one go held the namenode for seconds, so it
 * works in slices; what must hold is that nothing a pin reaches when a
 * block is condemned is ever condemned, whatever changed between slices.
 */
let dir: string
let now = 1_000_000
let state: NamenodeState
let monitor: ReplicationMonitor
let deps: GcDeps
let datanode: number

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-gc-'))
  now = 1_000_000
  state = offlineState(dir, () => now, { hashSeed: 3 })
  monitor = new ReplicationMonitor(state)
  const safeMode = new SafeMode()
  safeMode.leave()
  deps = { state, monitor, leases: new Leases(() => now), safeMode, graceMs: 60_000, slices: { sliceMs: 0, checkEvery: 100 } }
  datanode = state.registry.register({ datanode: { id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1/p2p/a'] }, version: 'test', capacityBytes: 1e9, availableBytes: 1e9, usedBytes: 0, blocks: 0 }).record.index
})
afterEach(async () => {
  state.store.close()
  await rm(dir, { recursive: true, force: true })
})

const cidOf = async (text: string, code: number): Promise<CID> => CID.createV1(code, await sha256.digest(new TextEncoder().encode(text)))

async function storeBlocks (n: number): Promise<Uint8Array[]> {
  const blocks = await Promise.all(Array.from({ length: n }, async (_, i) => (await cidOf(`block ${i}`, raw.code)).multihash.bytes))
  for (const mh of blocks) state.blocks.addReplica(mh, 10, datanode)
  // past the grace period, and the datanode still alive
  now += 120_000
  state.registry.heartbeat('a', state.registry.at(datanode)!.usage, 0)
  return blocks
}

describe('gc', () => {
  it.each([1, 2, 3])('works in slices, and never condemns a block wanted when it would be, though wants rise meanwhile (seed %i)', async (seed) => {
    const rand = prng(seed)
    const blocks = await storeBlocks(3_000)
    const wanted = new Set<number>()
    for (let i = 0; i < blocks.length; i += 3) {
      state.blocks.setWant(blocks[i]!, 1)
      wanted.add(i)
    }
    let finished = false
    const gc = collectGarbage(deps, {}).finally(() => { finished = true })
    let turns = 0
    while (!finished) {
      await nextTurn()
      turns++
      // a pin arrives between slices (walk, then condemn); one that comes after its
      // block was condemned is the pin path's business (it pardons the block)
      for (let k = 0; k < 10; k++) {
        const i = Math.floor(rand() * blocks.length)
        if (monitor.isCondemned(blocks[i]!)) continue
        state.blocks.setWant(blocks[i]!, 1)
        wanted.add(i)
      }
    }
    const result = await gc
    // 3,000 blocks in slices of 100: the walk alone takes 30 turns
    expect(turns).toBeGreaterThanOrEqual(30)
    blocks.forEach((mh, i) => { expect(monitor.isCondemned(mh)).toBe(!wanted.has(i)) })
    expect(result.blocks).toBe(blocks.length - wanted.size)
    expect(result.copies).toBe(result.blocks)
    expect(result.bytes).toBe(10 * result.blocks)
    const deletes = monitor.takeCommands(datanode).filter((c) => c.kind === 'delete').flatMap((c) => c.cids.map((cid) => blockKey(cid)))
    expect(new Set(deletes).size).toBe(result.blocks)
  })

  it('a dry run counts what would go and condemns nothing; fresh and leased blocks are kept and counted', async () => {
    const blocks = await storeBlocks(500)
    const fresh = (await cidOf('fresh', raw.code)).multihash.bytes
    state.blocks.addReplica(fresh, 10, datanode)
    deps.leases.hold('put-1', [blocks[0]!])
    const dry = await collectGarbage(deps, { dryRun: true })
    expect(dry).toEqual({ blocks: 499, bytes: 4_990, copies: 499, protected: 2 })
    expect(blocks.some((mh) => monitor.isCondemned(mh))).toBe(false)
    const real = await collectGarbage(deps, {})
    expect(real).toEqual(dry)
    expect(monitor.isCondemned(blocks[0]!)).toBe(false)
    expect(monitor.isCondemned(fresh)).toBe(false)
    expect(monitor.isCondemned(blocks[1]!)).toBe(true)
  })

  it('recounts wants first, a slice at a time, so what an unpin let go is deleted and what another pin shares is not', async () => {
    const leaves = await Promise.all(Array.from({ length: 400 }, async (_, i) => await cidOf(`leaf ${i}`, raw.code)))
    const roots = await Promise.all([0, 1].map(async (i) => await cidOf(`root ${i}`, 0x70)))
    // root 0 links leaves 0-299, root 1 leaves 200-399: 200-299 are shared
    state.dag.set(blockKey(roots[0]!), leaves.slice(0, 300))
    state.dag.set(blockKey(roots[1]!), leaves.slice(200, 400))
    for (const cid of [...roots, ...leaves]) state.blocks.addReplica(cid.multihash.bytes, 10, datanode)
    now += 120_000
    state.registry.heartbeat('a', state.registry.at(datanode)!.usage, 0)
    for (const root of roots) addPin(state, { root, replication: 1 })
    removePin(state, roots[0]!)
    expect(state.wantsStale).toBe(true)
    let finished = false
    const gc = collectGarbage(deps, {}).finally(() => { finished = true })
    await nextTurn()
    // 501 blocks to recount in slices of 100
    expect(finished).toBe(false)
    expect(state.recount).toBeDefined()
    const result = await gc
    expect(result.blocks).toBe(201)
    expect(monitor.isCondemned(roots[0]!.multihash.bytes)).toBe(true)
    leaves.forEach((leaf, i) => { expect(monitor.isCondemned(leaf.multihash.bytes)).toBe(i < 200) })
    expect(state.recount).toBeUndefined()
    expect(state.wantsStale).toBe(false)
  })

  it('what gc condemned lapses after the pending timeout, oldest first; a block condemned again starts over', async () => {
    const blocks = await storeBlocks(300)
    await collectGarbage(deps, {})
    expect(blocks.every((mh) => monitor.isCondemned(mh))).toBe(true)
    now += 40_000
    state.registry.heartbeat('a', state.registry.at(datanode)!.usage, 0)
    // the datanode kept a third of them (written again lately) and gc runs again: those start over
    for (const mh of blocks.slice(0, 100)) monitor.condemn(mh, [datanode])
    const beat = (): void => { state.registry.heartbeat('a', state.registry.at(datanode)!.usage, 0) }
    now += 30_000
    beat()
    monitor.tick(true)
    blocks.forEach((mh, i) => { expect(monitor.isCondemned(mh)).toBe(i < 100) })
    now += 40_000
    beat()
    monitor.tick(true)
    expect(blocks.some((mh) => monitor.isCondemned(mh))).toBe(false)
  })

  it('refuses to run in safe mode', async () => {
    await storeBlocks(10)
    deps.safeMode.enter()
    await expect(collectGarbage(deps, {})).rejects.toMatchObject({ code: 'ERR_SAFE_MODE' })
  })
})
