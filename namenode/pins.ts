import type { CID } from 'multiformats/cid'
import { IncompleteDagError, PinNotFoundError, blockKey } from '../core/index.ts'
import type { PinInfo, PinParams, PinResult, StatResult } from '../core/index.ts'
import { liveCopies } from './state.ts'
import type { NamenodeState } from './state.ts'

export function pinKey (root: CID): string {
  return root.toV1().toString()
}

/** Loads persisted pins and derives how many copies every block wants. */
export function loadPins (state: NamenodeState): void {
  for (const pin of state.store.pins()) state.pins.set(pinKey(pin.root), pin)
  recomputeWants(state)
}

/**
 * Pins a DAG, after checking the cluster really holds it: every block below
 * the root must be indexed and on at least one live datanode. Only then is
 * the pin committed (durably) and acknowledged.
 */
export function addPin (state: NamenodeState, params: PinParams): PinResult {
  const reach = state.dag.reach(params.root)
  if (reach.unindexed.length > 0) {
    throw new IncompleteDagError(`${reach.unindexed.length} node(s) of ${params.root} were never indexed (e.g. ${reach.unindexed[0]?.toString()})`, {
      hint: 'the put did not finish; put the content again'
    })
  }
  let bytes = 0
  let minReplicas = Number.POSITIVE_INFINITY
  const missing: CID[] = []
  for (const [key, cid] of reach.blocks) {
    const entry = state.blocks.get(key)
    const copies = liveCopies(state, entry)
    if (copies === 0) missing.push(cid)
    minReplicas = Math.min(minReplicas, copies)
    bytes += entry?.size ?? 0
  }
  if (missing.length > 0) {
    throw new IncompleteDagError(`${missing.length} of ${reach.blocks.size} blocks of ${params.root} are on no live datanode (e.g. ${missing[0]?.toString()})`, {
      hint: 'put the content again; if datanodes are down, start them first'
    })
  }
  const key = pinKey(params.root)
  const previous = state.pins.get(key)
  const pin: PinInfo = {
    root: params.root,
    replication: params.replication,
    createdMs: previous?.createdMs ?? state.clock(),
    blocks: reach.blocks.size,
    bytes
  }
  const label = params.label ?? previous?.label
  if (label !== undefined) pin.label = label
  state.store.putPin(pin)
  state.pins.set(key, pin)
  if (previous !== undefined && previous.replication > params.replication) {
    recomputeWants(state)
  } else {
    for (const blockKeyOf of reach.blocks.keys()) {
      const entry = state.blocks.get(blockKeyOf)
      state.blocks.setWant(blockKeyOf, Math.max(entry?.want ?? 0, params.replication))
    }
  }
  return { ...pin, minReplicas: reach.blocks.size === 0 ? 0 : minReplicas, liveDatanodes: state.registry.live().length }
}

export function removePin (state: NamenodeState, root: CID): PinInfo {
  const key = pinKey(root)
  const pin = state.pins.get(key)
  if (pin === undefined) {
    throw new PinNotFoundError(`${root} is not pinned`, { hint: 'cairn pin ls lists what is pinned' })
  }
  state.store.deletePin(pin.root)
  state.pins.delete(key)
  // a block may be under several pins; the simplest correct answer is to recount
  recomputeWants(state)
  return pin
}

export function recomputeWants (state: NamenodeState): void {
  state.blocks.clearWants()
  for (const pin of state.pins.values()) {
    for (const key of state.dag.reach(pin.root).blocks.keys()) {
      const entry = state.blocks.get(key)
      state.blocks.setWant(key, Math.max(entry?.want ?? 0, pin.replication))
    }
  }
}

/** What the namenode knows of the DAG below `cid` and its copies. */
export function statDag (state: NamenodeState, cid: CID): StatResult {
  const reach = state.dag.reach(cid)
  let bytes = 0
  let minReplicas = Number.POSITIVE_INFINITY
  let maxReplicas = 0
  let missing = 0
  for (const key of reach.blocks.keys()) {
    const entry = state.blocks.get(key)
    const copies = liveCopies(state, entry)
    if (copies === 0) missing++
    minReplicas = Math.min(minReplicas, copies)
    maxReplicas = Math.max(maxReplicas, copies)
    bytes += entry?.size ?? 0
  }
  const rootEntry = state.blocks.get(blockKey(cid))
  const want = rootEntry?.want ?? 0
  return {
    pinned: state.pins.has(pinKey(cid)) ? 'direct' : want > 0 ? 'indirect' : 'none',
    want,
    blocks: reach.blocks.size,
    bytes,
    minReplicas: reach.blocks.size === 0 ? 0 : minReplicas,
    maxReplicas,
    missing,
    complete: reach.unindexed.length === 0
  }
}
