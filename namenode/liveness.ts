import type { DatanodeState } from '../core/index.ts'

export interface LivenessPolicy {
  /** Silent this long: still holds its blocks, but is not chosen for new ones. */
  staleAfterMs: number
  /** Silent this long: treated as gone; its copies do not count. */
  deadAfterMs: number
}

/**
 * A datanode's state from when it last spoke and the time now. Pure, so the
 * rules are tested with a fake clock. A datanode that has not spoken to this
 * namenode since it started is dead until it registers.
 */
export function livenessOf (lastContactMs: number | undefined, nowMs: number, policy: LivenessPolicy): DatanodeState {
  if (lastContactMs === undefined) return 'dead'
  const silentMs = nowMs - lastContactMs
  if (silentMs >= policy.deadAfterMs) return 'dead'
  if (silentMs >= policy.staleAfterMs) return 'stale'
  return 'live'
}
