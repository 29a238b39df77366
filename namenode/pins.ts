import type { CID } from 'multiformats/cid'
import { IncompleteDagError, PinNotFoundError } from '../core/index.ts'
import type { PinInfo, PinParams, PinResult, StatResult } from '../core/index.ts'
import { infoOf, liveCopies, readableCopies } from './state.ts'
import { WantRecount } from './want-recount.ts'
import type { NamenodeState } from './state.ts'

export function pinKey (root: CID): string {
  return root.toV1().toString()
}

/** Loads persisted pins and derives how many copies every block wants. */
export function loadPins (state: NamenodeState): void {
  for (const pin of state.store.pins()) state.pins.set(pinKey(pin.root), pin)
  recomputeWants(state)
}

/** What the cluster holds of a DAG that is complete (checked by `verifyDag`). */
export interface VerifiedDag {
  blocks: Map<string, CID>
  bytes: number
  /** The fewest good copies any block has right now. */
  minReplicas: number
}

/**
 * Checks the cluster really holds a DAG: every block below the root indexed
 * and on at least one live datanode. Throws IncompleteDagError otherwise.
 * With `base`, a DAG checked before (a name's current value), only what the
 * new DAG does not share with it is checked and returned
 * (DagIndex.reachChanged): a publish costs its change, not the whole tree.
 */
export function verifyDag (state: NamenodeState, root: CID, base?: CID): VerifiedDag {
  const reach = base === undefined ? state.dag.reach(root) : state.dag.reachChanged(root, base)
  if (reach.unindexed.length > 0) {
    throw new IncompleteDagError(`${reach.unindexed.length} node(s) of ${root} were never indexed (e.g. ${reach.unindexed[0]?.toString()})`, {
      hint: 'the cluster never received all of it (a put that did not finish, or content stored elsewhere): put or import the content'
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
    const which = base === undefined ? `${reach.blocks.size} blocks of ${root}` : `${reach.blocks.size} new blocks of ${root}`
    throw new IncompleteDagError(`${missing.length} of the ${which} are on no live datanode (e.g. ${missing[0]?.toString()})`, {
      hint: 'put or import the content again; if datanodes are down, start them first'
    })
  }
  return { blocks: reach.blocks, bytes, minReplicas: reach.blocks.size === 0 ? 0 : minReplicas }
}

/** Makes every block of a DAG want at least `replication` copies (wants only go up here). */
export function raiseWants (state: NamenodeState, blocks: Iterable<CID>, replication: number): void {
  // raiseWant also tells a recount under way, which a want already high enough would otherwise hide from it
  for (const cid of blocks) state.blocks.raiseWant(cid.multihash.bytes, replication)
}

/**
 * Pins a DAG, after checking the cluster really holds it. Only then is the
 * pin committed (durably) and acknowledged. Returns the result for the
 * client and the DAG's blocks (whose wants may have risen).
 */
export function addPin (state: NamenodeState, params: PinParams): { result: PinResult, blocks: CID[] } {
  const dag = verifyDag(state, params.root)
  const key = pinKey(params.root)
  const previous = state.pins.get(key)
  const pin: PinInfo = {
    root: params.root,
    replication: params.replication,
    createdMs: previous?.createdMs ?? state.clock(),
    blocks: dag.blocks.size,
    bytes: dag.bytes
  }
  const label = params.label ?? previous?.label
  if (label !== undefined) pin.label = label
  state.store.putPin(pin)
  state.pins.set(key, pin)
  raiseWants(state, dag.blocks.values(), params.replication)
  if (previous !== undefined && previous.replication > params.replication) state.wantsStale = true
  return {
    result: { ...pin, minReplicas: dag.minReplicas, liveDatanodes: state.registry.live().length },
    blocks: [...dag.blocks.values()]
  }
}

export function removePin (state: NamenodeState, root: CID): PinInfo {
  const key = pinKey(root)
  const pin = state.pins.get(key)
  if (pin === undefined) {
    throw new PinNotFoundError(`${root} is not pinned`, { hint: 'cairn pin ls lists what is pinned' })
  }
  state.store.deletePin(pin.root)
  state.pins.delete(key)
  // a block may be under several pins or names: recount (later, or before gc)
  state.wantsStale = true
  return pin
}

/**
 * Counts again, from scratch, how many copies every block wants: the
 * highest replication of the pins and names (with their history) reaching
 * it. Wants only ever rise between recounts, so a stale count keeps too
 * much, never too little.
 */
export function recomputeWants (state: NamenodeState): void {
  // all at once (startup, before anything is served): one walked in slices is dropped, as this one supersedes it
  state.recount?.abort()
  state.recount = undefined
  const recount = new WantRecount(state)
  recount.step(Number.POSITIVE_INFINITY)
  recount.finish()
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
