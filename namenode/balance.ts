import { SafeModeError } from '../core/index.ts'
import type { BalanceParams, BalanceResult } from '../core/index.ts'
import type { DatanodeRecord } from './registry.ts'
import type { ReplicationMonitor } from './replication.ts'
import type { NamenodeState } from './state.ts'
import { TimeSlice } from './time-slice.ts'
import type { SliceOptions } from './time-slice.ts'

/**
 * One round of moving copies from fuller datanodes to emptier ones, until
 * every datanode's share of its capacity in use is within
 * `thresholdPercent` points of the cluster's mean (HDFS's balancer rule). A
 * move copies the block to the target first and deletes the old copy only
 * once the new one is reported. A round looks at blocks only until nothing
 * more can be planned (every source is within the threshold or has no
 * transfer slot left, or maxBytes is reached): it plans a few dozen moves,
 * and a pass over a million blocks per source held the namenode for
 * seconds. A pass that must go far goes in slices.
 */
export async function planBalance (state: NamenodeState, monitor: ReplicationMonitor, params: BalanceParams, safeMode: boolean, options: SliceOptions = {}): Promise<BalanceResult> {
  if (safeMode) {
    throw new SafeModeError('the namenode is in safe mode; balancing waits until every datanode has reported', {
      hint: 'cairn report shows safe mode; try again once it has ended'
    })
  }
  const threshold = params.thresholdPercent ?? 10
  const maxBytes = params.maxBytes ?? 10 * 1024 ** 3
  const nodes = state.registry.writable().filter((r) => r.usage.capacityBytes > 0)
  const used = new Map(nodes.map((r) => [r.index, r.usage.usedBytes]))
  const util = (r: DatanodeRecord): number => (used.get(r.index) ?? 0) * 100 / r.usage.capacityBytes
  const capacity = nodes.reduce((n, r) => n + r.usage.capacityBytes, 0)
  const mean = capacity === 0 ? 0 : nodes.reduce((n, r) => n + r.usage.usedBytes, 0) * 100 / capacity
  const utilization = Object.fromEntries(nodes.map((r) => [r.id, util(r)]))
  const sources = nodes.filter((r) => util(r) > mean + threshold).sort((a, b) => util(b) - util(a))
  const result: BalanceResult = { planned: 0, bytes: 0, inFlight: monitor.movesInFlight, utilization, balanced: sources.length === 0 }
  // usage reported while moves are in flight is stale: plan again once they are done
  if (sources.length === 0 || result.inFlight > 0) return result
  const targets = nodes.filter((r) => util(r) < mean).sort((a, b) => util(a) - util(b))
  // a target takes a block only while it stays at or below the mean: no ping-pong
  const roomFor = (t: DatanodeRecord, bytes: number): boolean => ((used.get(t.index) ?? 0) + bytes) * 100 / t.usage.capacityBytes <= mean

  const sourceDone = (source: DatanodeRecord): boolean => util(source) <= mean + threshold || !monitor.hasFreeSlot(source.index)
  const roundDone = (): boolean => result.bytes >= maxBytes || sources.every(sourceDone) || !targets.some((t) => monitor.hasFreeSlot(t.index))
  const slice = new TimeSlice(options.sliceMs)
  const every = options.checkEvery ?? 1_000
  const sweep = state.blocks.sweep()
  let passDone = false
  try {
    while (!roundDone() && !(passDone = sweep.step(every, (mh, info) => {
      if (result.bytes >= maxBytes || info.want === 0) return
      let racks: Set<string | undefined> | undefined
      // fullest source first, one move per block
      for (const source of sources) {
        if (!info.replicas.includes(source.index) || sourceDone(source)) continue
        // only for blocks a source holds: most of a pass visits blocks no source has
        const blockRacks = (racks ??= new Set(info.replicas.map((d) => state.registry.at(d)?.rack)))
        const target = targets.find((t) => roomFor(t, info.size) && monitor.hasFreeSlot(t.index) &&
          !info.replicas.includes(t.index) &&
          // keep rack spread: the target's rack is new to the block, or the source's rack keeps another copy
          (t.rack === source.rack || !blockRacks.has(t.rack) || info.replicas.filter((d) => state.registry.at(d)?.rack === source.rack).length > 1))
        if (target === undefined || !monitor.planMove(mh, source.index, target.index)) continue
        used.set(source.index, (used.get(source.index) ?? 0) - info.size)
        used.set(target.index, (used.get(target.index) ?? 0) + info.size)
        result.planned++
        result.bytes += info.size
        return
      }
    }))) await slice.maybeYield()
  } finally {
    sweep.close()
  }
  result.inFlight = monitor.movesInFlight
  // a whole pass found nothing that can move (block granularity, racks, room): as balanced as it gets;
  // a round cut short by busy transfer slots says nothing of the kind
  if (result.planned === 0 && passDone) result.balanced = true
  if (result.planned > 0) state.log.info(`balance: planned ${result.planned} moves (${result.bytes} bytes); mean use ${mean.toFixed(4)}%`)
  return result
}
