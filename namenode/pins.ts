import type { CID } from 'multiformats/cid'
import { IncompleteDagError, PinNotFoundError } from '../core/index.ts'
import type { PinInfo, PinParams, PinResult, StatResult } from '../core/index.ts'
import { infoOf, liveCopies, readableCopies } from './state.ts'
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
  for (const cid of reach.blocks.values()) {
    const info = infoOf(state, cid)
    if (readableCopies(state, info) === 0) missing.push(cid)
    minReplicas = Math.min(minReplicas, liveCopies(state, info))
    bytes += info?.size ?? 0
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
    for (const cid of reach.blocks.values()) {
      const mh = cid.multihash.bytes
      state.blocks.setWant(mh, Math.max(state.blocks.get(mh)?.want ?? 0, params.replication))
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
    for (const cid of state.dag.reach(pin.root).blocks.values()) {
      const mh = cid.multihash.bytes
      state.blocks.setWant(mh, Math.max(state.blocks.get(mh)?.want ?? 0, pin.replication))
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
  for (const block of reach.blocks.values()) {
    const info = infoOf(state, block)
    const copies = liveCopies(state, info)
    if (readableCopies(state, info) === 0) missing++
    minReplicas = Math.min(minReplicas, copies)
    maxReplicas = Math.max(maxReplicas, copies)
    bytes += info?.size ?? 0
  }
  const want = infoOf(state, cid)?.want ?? 0
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
