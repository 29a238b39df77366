import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { blockKey } from '../../core/index.ts'
import { fsck } from '../../namenode/fsck.ts'
import { pinKey } from '../../namenode/pins.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { offlineState } from '../helpers/namenode-state.ts'
import { countTurns } from '../helpers/turns.ts'

/** fsck over real namenode state: a block table, a DAG index and pins, no network. */
let dir: string
let state: NamenodeState

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-fsck-'))
  const clock = (): number => 1_000_000
  state = offlineState(dir, clock)
})
afterEach(async () => {
  state.store.close()
  await rm(dir, { recursive: true, force: true })
})

/** Pins a root (dag-pb) over `leaves` raw blocks, every block with one copy on `datanode`. */
async function pin (name: string, leaves: number, datanode: number): Promise<CID> {
  const cidOf = async (text: string, code: number): Promise<CID> => CID.createV1(code, await sha256.digest(new TextEncoder().encode(text)))
  const links = await Promise.all(Array.from({ length: leaves }, async (_, i) => await cidOf(`${name} leaf ${i}`, raw.code)))
  const root = await cidOf(`${name} root`, 0x70)
  state.dag.set(blockKey(root), links)
  for (const cid of [root, ...links]) {
    state.blocks.addReplica(cid.multihash.bytes, 10, datanode)
    state.blocks.setWant(cid.multihash.bytes, 1)
  }
  state.pins.set(pinKey(root), { root, replication: 1, createdMs: 0, blocks: leaves + 1, bytes: (leaves + 1) * 10 })
  return root
}

describe('fsck', () => {
  // The status page ran a full fsck on every view: O(every pinned block), with the namenode held meanwhile.
  it('with a block budget checks the pins that fit and lists the rest unchecked', async () => {
    const { record } = state.registry.register({ datanode: { id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1/p2p/a'] }, version: 'test', capacityBytes: 1e9, availableBytes: 1e9, usedBytes: 0, blocks: 0 })
    const small = await pin('small', 10, record.index)
    const big = await pin('big', 100, record.index)
    const last = await pin('last', 5, record.index)

    const all = await fsck(state, {}, false)
    expect(all.partial).toBeUndefined()
    expect(all.pins.map((p) => [p.root.toString(), p.blocks, p.unchecked])).toEqual([[small.toString(), 11, undefined], [big.toString(), 101, undefined], [last.toString(), 6, undefined]])
    expect(all.total).toMatchObject({ blocks: 118, healthy: 118 })

    // small fits in 50; big does not, and its walk uses up what was left
    const budgeted = await fsck(state, { maxBlocks: 50 }, false)
    expect(budgeted.partial).toBe(true)
    expect(budgeted.pins.map((p) => [p.root.toString(), p.blocks, p.unchecked ?? false])).toEqual([[small.toString(), 11, false], [big.toString(), 0, true], [last.toString(), 0, true]])
    expect(budgeted.total).toMatchObject({ blocks: 11, healthy: 11 })
    expect(budgeted.status).toBe('HEALTHY')

    const two = await fsck(state, { maxPins: 2 }, false)
    expect(two.partial).toBe(true)
    expect(two.pins).toHaveLength(2)
  })

  it('works in slices with the event loop free between them, finding the same as in one go', async () => {
    const { record } = state.registry.register({ datanode: { id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1/p2p/a'] }, version: 'test', capacityBytes: 1e9, availableBytes: 1e9, usedBytes: 0, blocks: 0 })
    for (const [name, leaves] of [['one', 40], ['two', 300], ['three', 7]] as const) await pin(name, leaves, record.index)
    state.blocks.removeReplica((await pin('lost', 20, record.index)).multihash.bytes, record.index)
    for (const params of [{}, { maxBlocks: 100 }, { maxBlocks: 341 }, { maxBlocks: 342 }]) {
      const whole = await fsck(state, params, false, { sliceMs: 1e9 })
      const { result: sliced, turns } = await countTurns(fsck(state, params, false, { sliceMs: 0, checkEvery: 7 }))
      expect(sliced).toEqual(whole)
      expect(turns).toBeGreaterThan(whole.total.blocks / 7)
    }
    const whole = await fsck(state, {}, false)
    expect(whole.status).toBe('CORRUPT')
    expect(whole.total).toMatchObject({ blocks: 371, missing: 1 })
  })
})
