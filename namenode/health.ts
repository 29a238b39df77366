import type { DatanodeAdminState, DatanodeState, HealthTally } from '../core/index.ts'

/**
 * Replication health of one pinned block, decided from where its copies are
 * and how the datanodes holding them are doing. Pure: the namenode's scans,
 * fsck and the tests all use these functions.
 */
export type BlockHealth = 'healthy' | 'under-replicated' | 'over-replicated' | 'misplaced' | 'missing' | 'corrupt'

const TALLY_FIELD: Record<BlockHealth, keyof HealthTally> = {
  healthy: 'healthy',
  'under-replicated': 'underReplicated',
  'over-replicated': 'overReplicated',
  misplaced: 'misplaced',
  missing: 'missing',
  corrupt: 'corrupt'
}

export function tally (counts: HealthTally, health: BlockHealth, by = 1): void {
  counts[TALLY_FIELD[health]] += by
}

export interface HolderView {
  state: DatanodeState
  admin: DatanodeAdminState
  rack?: string
}

export interface Copies {
  /** Count toward the replication factor: on live or stale datanodes in normal service. */
  good: number[]
  /** Readable, on datanodes being retired: they can be copied from but do not count. */
  retiring: number[]
  /** On dead datanodes: neither readable nor counted until the datanode returns. */
  dead: number[]
}

export function sortCopies (replicas: number[], holder: (datanode: number) => HolderView | undefined): Copies {
  const copies: Copies = { good: [], retiring: [], dead: [] }
  for (const datanode of replicas) {
    const view = holder(datanode)
    if (view === undefined || view.state === 'dead') copies.dead.push(datanode)
    else if (view.admin === 'normal') copies.good.push(datanode)
    else copies.retiring.push(datanode)
  }
  return copies
}

export interface HealthInput {
  want: number
  copies: Copies
  rackOf: (datanode: number) => string | undefined
  /** Distinct rack labels among datanodes that can take copies; under 2 means racks do not matter. */
  racks: number
  /** A copy of this block was found corrupt and the block is not whole again yet. */
  corruptSeen: boolean
}

export function classify (input: HealthInput): BlockHealth {
  const { want, copies } = input
  const readable = copies.good.length + copies.retiring.length
  if (readable === 0) return input.corruptSeen ? 'corrupt' : 'missing'
  if (copies.good.length < want) return 'under-replicated'
  if (copies.good.length > want) return 'over-replicated'
  if (want >= 2 && input.racks >= 2) {
    const racks = new Set(copies.good.map(input.rackOf))
    if (racks.size < 2) return 'misplaced'
  }
  return 'healthy'
}

/** Lower is more urgent: a block down to its last copy before one with two. */
export function repairPriority (want: number, copies: Copies): number {
  const good = copies.good.length
  if (good <= 1) return 0
  if (good * 2 <= want) return 1
  return 2
}
