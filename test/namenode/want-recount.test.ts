import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { blockKey } from '../../core/index.ts'
import { addPin, recomputeWants, removePin } from '../../namenode/pins.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { WantRecount } from '../../namenode/want-recount.ts'
import { prng } from '../helpers/data.ts'
import { offlineState } from '../helpers/namenode-state.ts'

/**
 * A recount of wants walked in slices while pins come and go, through the
 * namenode's own pin code over real state. Wants only rise between
 * recounts; what must never happen is a block wanting fewer copies than a
 * pin that reaches it needs, which would let the monitor trim, or gc
 * delete, copies that are still wanted.
 */
let dir: string
let state: NamenodeState

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-recount-'))
  state = offlineState(dir, () => 1_000_000)
})
afterEach(async () => {
  state.store.close()
  await rm(dir, { recursive: true, force: true })
})

const cidOf = async (text: string, code: number): Promise<CID> => CID.createV1(code, await sha256.digest(new TextEncoder().encode(text)))

describe('recount of wants', () => {
  it.each([1, 2, 3])('in slices, with pins made and dropped meanwhile, never leaves a block wanting less than a pin needs (seed %i)', async (seed) => {
    const rand = prng(seed)
    const below = (n: number): number => Math.floor(rand() * n)
    const { record } = state.registry.register({ datanode: { id: 'a', addrs: ['/ip4/127.0.0.1/tcp/1/p2p/a'] }, version: 'test', capacityBytes: 1e9, availableBytes: 1e9, usedBytes: 0, blocks: 0 })
    // 30 DAGs over a shared pool of leaves: root -> 3 inner nodes -> 6 leaves each
    const leaves = await Promise.all(Array.from({ length: 150 }, async (_, i) => await cidOf(`leaf ${i}`, raw.code)))
    const roots: CID[] = []
    const reach = new Map<string, Set<string>>()
    for (let d = 0; d < 30; d++) {
      const root = await cidOf(`root ${d}`, 0x70)
      const inner = await Promise.all([0, 1, 2].map(async (i) => await cidOf(`inner ${d}/${i}`, 0x70)))
      const keys = new Set([blockKey(root), ...inner.map(blockKey)])
      state.dag.set(blockKey(root), inner)
      for (const node of inner) {
        const links = Array.from({ length: 6 }, () => leaves[below(leaves.length)]!)
        state.dag.set(blockKey(node), links)
        for (const leaf of links) keys.add(blockKey(leaf))
      }
      for (const cid of [root, ...inner]) state.blocks.addReplica(cid.multihash.bytes, 10, record.index)
      roots.push(root)
      reach.set(blockKey(root), keys)
    }
    for (const leaf of leaves) state.blocks.addReplica(leaf.multihash.bytes, 10, record.index)
    const everything = [...new Set([...reach.values()].flatMap((keys) => [...keys]))]
    const mhOf = new Map([...roots, ...leaves].map((c) => [blockKey(c), c.multihash.bytes]))
    for (const root of roots) for (const node of state.dag.linksOf(blockKey(root)) ?? []) mhOf.set(blockKey(node), node.multihash.bytes)

    /** The most copies any pin present now needs of each block. */
    const needed = (): Map<string, number> => {
      const need = new Map<string, number>()
      for (const pin of state.pins.values()) {
        for (const key of reach.get(blockKey(pin.root)) ?? []) need.set(key, Math.max(need.get(key) ?? 0, pin.replication))
      }
      return need
    }
    const wantOf = (key: string): number => state.blocks.get(mhOf.get(key)!)?.want ?? 0
    const mutate = (): void => {
      const root = roots[below(roots.length)]!
      if (state.pins.has(root.toV1().toString()) && rand() < 0.4) removePin(state, root)
      else addPin(state, { root, replication: 1 + below(4) })
    }

    let recounts = 0
    for (let round = 0; round < 40; round++) {
      for (let i = below(6); i > 0; i--) mutate()
      const recount = new WantRecount(state)
      const pinsAtStart = new Set(state.pins.keys())
      let done = false
      while (!done) {
        done = recount.step(1 + below(15))
        // pins made and dropped between slices, as requests arrive between rounds
        if (rand() < 0.3) mutate()
        // never too low, at any moment
        for (const [key, need] of needed()) expect(wantOf(key), `block ${key} mid-recount`).toBeGreaterThanOrEqual(need)
      }
      recount.finish()
      recounts++
      const need = needed()
      for (const key of everything) {
        expect(wantOf(key), `block ${key} after the recount`).toBeGreaterThanOrEqual(need.get(key) ?? 0)
        // and no higher than what a pin present at the start, or made since, asked for
        if (!pinsAtStartReach(key, pinsAtStart) && !state.wantsStale) expect(wantOf(key)).toBe(need.get(key) ?? 0)
      }
    }
    // at rest, a recount gives exactly what the pins need
    recomputeWants(state)
    const need = needed()
    for (const key of everything) expect(wantOf(key)).toBe(need.get(key) ?? 0)
    expect(recounts).toBe(40)

    function pinsAtStartReach (key: string, pins: Set<string>): boolean {
      for (const pin of pins) if (reach.get(blockKey(CID.parse(pin)))?.has(key) === true) return true
      return false
    }
  })
})
