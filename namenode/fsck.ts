import type { CID } from 'multiformats/cid'
import { NotFoundError } from '../core/index.ts'
import type { FsckCounts, FsckParams, FsckPin, FsckProblem, FsckResult, PinInfo } from '../core/index.ts'
import { classify, tally } from './health.ts'
import type { BlockHealth } from './health.ts'
import { pinKey } from './pins.ts'
import { FLAG_CORRUPT_SEEN, copiesOf, infoOf } from './state.ts'
import type { NamenodeState } from './state.ts'
import { TimeSlice } from './time-slice.ts'
import type { SliceOptions } from './time-slice.ts'

/**
 * Block-by-block health of pins, as HDFS fsck reports files: per pin and in
 * total, healthy / under / over / misplaced / corrupt / missing, and the
 * problem blocks with where their copies are. CORRUPT when any block has no
 * readable copy: data is lost until a datanode with it comes back.
 */
export async function fsck (state: NamenodeState, params: FsckParams, safeMode: boolean, options: SliceOptions = {}): Promise<FsckResult> {
  // every pinned block at a million blocks is seconds of work: in slices, the namenode serving others between them
  const slice = new TimeSlice(options.sliceMs)
  const every = options.checkEvery ?? 1_000
  const maxProblems = params.maxProblems ?? 100
  const racks = new Set(state.registry.writable().map((r) => r.rack).filter((r) => r !== undefined)).size
  const chosen = choosePins(state, params)
  const pins = params.maxPins === undefined ? chosen : chosen.slice(0, params.maxPins)
  let partial = pins.length < chosen.length
  let budget = params.maxBlocks ?? Number.POSITIVE_INFINITY
  const total = emptyCounts()
  const seen = new Set<string>()
  const problems: FsckProblem[] = []
  const results: FsckPin[] = []

  for (const pin of pins) {
    const counts = emptyCounts()
    // a walk cut short by the budget still cost what it walked
    const reach = budget > 0 ? await walkWithin(state, pin.root, budget + 1, slice, every) : undefined
    budget -= reach?.size ?? 0
    if (reach === undefined || budget < 0) {
      partial = true
      const entry: FsckPin = { root: pin.root, replication: pin.replication, ...counts, status: 'HEALTHY', unchecked: true }
      if (pin.label !== undefined) entry.label = pin.label
      results.push(entry)
      continue
    }
    let n = 0
    for (const [key, cid] of reach) {
      if (++n % every === 0) await slice.maybeYield()
      const info = infoOf(state, cid)
      const copies = copiesOf(state, info)
      const health = classify({
        want: pin.replication,
        copies,
        rackOf: (d) => state.registry.at(d)?.rack,
        racks,
        corruptSeen: ((info?.flags ?? 0) & FLAG_CORRUPT_SEEN) !== 0
      })
      add(counts, health, info?.size ?? 0)
      if (!seen.has(key)) {
        seen.add(key)
        add(total, health, info?.size ?? 0)
        if (health !== 'healthy' && problems.length < maxProblems) {
          problems.push({
            cid,
            pin: pin.root,
            health,
            want: pin.replication,
            copies: copies.good.length,
            datanodes: [...copies.good, ...copies.retiring].map((d) => state.registry.at(d)?.id ?? String(d))
          })
        }
      }
    }
    const entry: FsckPin = { root: pin.root, replication: pin.replication, ...counts, status: statusOf(counts) }
    if (pin.label !== undefined) entry.label = pin.label
    results.push(entry)
  }

  const datanodes = { live: 0, stale: 0, dead: 0, decommissioning: 0 }
  for (const r of state.registry.all()) {
    datanodes[state.registry.stateOf(r)]++
    if (r.admin === 'decommissioning') datanodes.decommissioning++
  }
  const result: FsckResult = { status: statusOf(total), total, pins: results, problems, datanodes, safeMode }
  if (partial) result.partial = true
  return result
}

/** The blocks a root reaches (at most `limit`), walked a step at a time. */
async function walkWithin (state: NamenodeState, root: CID, limit: number, slice: TimeSlice, every: number): Promise<Map<string, CID>> {
  const blocks = new Map<string, CID>()
  const walk = state.dag.walk(root)
  while (!walk.step(Math.min(every, limit - blocks.size), (cid, key) => { blocks.set(key, cid) }) && blocks.size < limit) {
    await slice.maybeYield()
  }
  return blocks
}

function choosePins (state: NamenodeState, params: FsckParams): PinInfo[] {
  if (params.root !== undefined) {
    const pin = state.pins.get(pinKey(params.root))
    if (pin !== undefined) return [pin]
    const want = infoOf(state, params.root)?.want ?? 0
    if (want === 0 && !state.dag.has(Buffer.from(params.root.multihash.bytes).toString('base64url'))) {
      throw new NotFoundError(`${params.root} is neither pinned nor inside a pinned DAG`, { hint: 'cairn pin ls lists pins' })
    }
    return [{ root: params.root as CID, replication: Math.max(want, 1), createdMs: 0, blocks: 0, bytes: 0 }]
  }
  if (params.label !== undefined) {
    const matches = [...state.pins.values()].filter((p) => p.label === params.label)
    if (matches.length === 0) throw new NotFoundError(`no pin is labelled "${params.label}"`, { hint: 'cairn pin ls lists pins and their labels' })
    return matches
  }
  // every pin, and what names keep (their values and recent history)
  const all = [...state.pins.values()]
  const seen = new Set(all.map((p) => p.root.toV1().toString()))
  for (const { root, replication } of state.nameRoots()) {
    if (seen.has(root.toV1().toString())) continue
    seen.add(root.toV1().toString())
    all.push({ root, replication, createdMs: 0, blocks: 0, bytes: 0, label: '(kept by a name)' })
  }
  return all
}

function add (counts: FsckCounts, health: BlockHealth, size: number): void {
  counts.blocks++
  counts.bytes += size
  tally(counts, health)
}

function statusOf (counts: FsckCounts): 'HEALTHY' | 'CORRUPT' {
  return counts.missing + counts.corrupt > 0 ? 'CORRUPT' : 'HEALTHY'
}

function emptyCounts (): FsckCounts {
  return { blocks: 0, bytes: 0, healthy: 0, underReplicated: 0, overReplicated: 0, misplaced: 0, missing: 0, corrupt: 0 }
}
