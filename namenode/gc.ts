import { SafeModeError } from '../core/index.ts'
import type { GcParams, GcResult } from '../core/index.ts'
import type { Leases } from './leases.ts'
import { recomputeWants } from './pins.ts'
import type { ReplicationMonitor } from './replication.ts'
import type { SafeMode } from './safe-mode.ts'
import type { NamenodeState } from './state.ts'

export interface GcDeps {
  state: NamenodeState
  monitor: ReplicationMonitor
  leases: Leases
  safeMode: SafeMode
  /** Blocks the namenode first heard of less than this ago are kept. */
  graceMs: number
}

/**
 * Deletes what no pin reaches. Never a block a pin reaches (want > 0), one a
 * put in progress wrote (its lease), or one newer than the grace period;
 * and datanodes keep any block re-sent to them lately, whatever the order
 * of messages. Also forgets index entries of DAG nodes no pin reaches.
 */
export function collectGarbage (deps: GcDeps, params: GcParams): GcResult {
  const { state, monitor, leases } = deps
  if (deps.safeMode.active) {
    throw new SafeModeError('the namenode is in safe mode; gc waits until every datanode has reported', {
      hint: 'cairn report shows safe mode; try again once it has ended'
    })
  }
  // a pin or name let go may have left wants too high: count them right first
  if (state.wantsStale) {
    recomputeWants(state)
    // wants fell and entries went: the monitor counts and trims from a scan of every block
    monitor.rescan()
  }
  const freshAfterSec = Math.floor((state.clock() - deps.graceMs) / 1000)
  const result: GcResult = { blocks: 0, bytes: 0, copies: 0, protected: 0 }
  const doomed: Array<{ mh: Uint8Array, holders: number[] }> = []
  state.blocks.forEach((mh, info) => {
    if (info.want > 0 || info.replicas.length === 0) return
    if (info.firstSeenSec > freshAfterSec || leases.protects(mh)) {
      result.protected++
      return
    }
    const holders = info.replicas.filter((d) => {
      const record = state.registry.at(d)
      return record !== undefined && state.registry.stateOf(record) !== 'dead'
    })
    if (holders.length === 0) return
    result.blocks++
    result.bytes += info.size
    result.copies += holders.length
    doomed.push({ mh: Uint8Array.from(mh), holders })
  })
  if (params.dryRun === true) return result

  for (const { mh, holders } of doomed) monitor.condemn(mh, holders)

  // DAG index entries of nodes no pin reaches
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
