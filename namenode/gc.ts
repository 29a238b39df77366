import { SafeModeError } from '../core/index.ts'
import type { GcParams, GcResult } from '../core/index.ts'
import type { Leases } from './leases.ts'
import type { ReplicationMonitor } from './replication.ts'
import type { SafeMode } from './safe-mode.ts'
import type { BlockInfo } from './block-index.ts'
import { keptCopy, keyString } from './block-table-hash.ts'
import type { NamenodeState } from './state.ts'
import { TimeSlice } from './time-slice.ts'
import type { SliceOptions } from './time-slice.ts'
import { WantRecount, advanceRecount } from './want-recount.ts'

export interface GcDeps {
  state: NamenodeState
  monitor: ReplicationMonitor
  leases: Leases
  safeMode: SafeMode
  /** Blocks the namenode first heard of less than this ago are kept. */
  graceMs: number
  /** How gc's passes are cut (see TimeSlice). */
  slices?: SliceOptions
}

/** A gc asked for while one runs waits for it, then runs itself (it may see pins the first did not). */
const running = new WeakMap<NamenodeState, Promise<unknown>>()

/**
 * Deletes what no pin reaches. Never a block a pin reaches (want > 0), one a
 * put in progress wrote (its lease), or one newer than the grace period;
 * and datanodes keep any block re-sent to them lately, whatever the order
 * of messages. Also forgets index entries of DAG nodes no pin reaches.
 *
 * Works in slices with the event loop free between them. Pins may come
 * and go meanwhile: each block is checked again, in the same turn as it is
 * condemned, so one a new pin reaches (or a new put re-sent) is kept.
 */
export async function collectGarbage (deps: GcDeps, params: GcParams): Promise<GcResult> {
  const before = running.get(deps.state)
  const run = (async () => {
    await before?.catch(() => {})
    return await collect(deps, params)
  })()
  running.set(deps.state, run)
  try {
    return await run
  } finally {
    if (running.get(deps.state) === run) running.delete(deps.state)
  }
}

async function collect (deps: GcDeps, params: GcParams): Promise<GcResult> {
  const { state, monitor, leases } = deps
  const every = deps.slices?.checkEvery ?? 1_000
  const slice = new TimeSlice(deps.slices?.sliceMs)
  throwIfSafeMode(deps)
  // a pin or name let go may have left wants too high: count them right first
  await recountWants(state, monitor, slice, every)
  throwIfSafeMode(deps)

  const freshAfterSec = Math.floor((state.clock() - deps.graceMs) / 1000)
  /** The live datanodes holding a block gc may delete, or undefined when it must stay. */
  const doomedHolders = (mh: Uint8Array, info: BlockInfo): number[] | 'protected' | undefined => {
    if (info.want > 0 || info.replicas.length === 0) return undefined
    if (info.firstSeenSec > freshAfterSec || leases.protects(mh)) return 'protected'
    const holders = info.replicas.filter((d) => {
      const record = state.registry.at(d)
      return record !== undefined && state.registry.stateOf(record) !== 'dead'
    })
    return holders.length === 0 ? undefined : holders
  }

  // keyed: a sweep visits an entry again when the table grows under it
  const doomed = new Map<string, { mh: Uint8Array, size: number, copies: number }>()
  const kept = new Set<string>()
  const sweep = state.blocks.sweep()
  try {
    while (!sweep.step(every, (mh, info) => {
      const holders = doomedHolders(mh, info)
      if (holders === undefined) return
      const key = keyString(mh)
      if (holders === 'protected') kept.add(key)
      else doomed.set(key, { mh: keptCopy(mh), size: info.size, copies: holders.length })
    })) await slice.maybeYield()
  } finally {
    sweep.close()
  }
  const result: GcResult = { blocks: 0, bytes: 0, copies: 0, protected: kept.size }
  if (params.dryRun === true) {
    for (const { size, copies } of doomed.values()) {
      result.blocks++
      result.bytes += size
      result.copies += copies
    }
    return result
  }

  let n = 0
  for (const { mh } of doomed.values()) {
    if (++n % every === 0) await slice.maybeYield()
    // as it is now: a pin, a put or a datanode's death may have come since the walk
    const info = state.blocks.get(mh)
    const holders = info === undefined ? undefined : doomedHolders(mh, info)
    if (info === undefined || holders === undefined) continue
    if (holders === 'protected') {
      result.protected++
      continue
    }
    monitor.condemn(mh, holders)
    result.blocks++
    result.bytes += info.size
    result.copies += holders.length
  }

  // DAG index entries of nodes no pin reaches (far fewer than blocks: leaves are not indexed), in one turn
  const reachable = new Set<string>()
  for (const pin of state.pins.values()) for (const key of state.dag.reach(pin.root).blocks.keys()) reachable.add(key)
  const unreachable = state.dag.keys().filter((key) => !reachable.has(key) && !leases.protects(Buffer.from(key, 'base64url')))
  if (unreachable.length > 0) {
    state.store.deleteDagNodes(unreachable)
    for (const key of unreachable) state.dag.delete(key)
  }
  state.log.info(`gc: deleting ${result.blocks} unpinned blocks (${result.copies} copies, ${result.bytes} bytes); ${result.protected} kept for puts in progress; forgot ${unreachable.length} index entries`)
  return result
}

function throwIfSafeMode (deps: GcDeps): void {
  if (deps.safeMode.active) {
    throw new SafeModeError('the namenode is in safe mode; gc waits until every datanode has reported', {
      hint: 'cairn report shows safe mode; try again once it has ended'
    })
  }
}

/**
 * Brings wants up to date before gc decides anything: steps the recount
 * under way (the service's monitor rounds step the same one; whoever ends
 * it finishes it) or starts one, a slice a turn. Again if a pin was let go
 * meanwhile, a few times at most: wants that stay too high only keep
 * blocks, never lose them.
 */
async function recountWants (state: NamenodeState, monitor: ReplicationMonitor, slice: TimeSlice, every: number): Promise<void> {
  for (let pass = 0; pass < 3 && (state.wantsStale || state.recount !== undefined); pass++) {
    if (state.recount === undefined) state.recount = new WantRecount(state)
    const recount = state.recount
    while (state.recount === recount) {
      if (advanceRecount(state, every)) {
        monitor.rescan()
        break
      }
      await slice.maybeYield()
    }
  }
}
