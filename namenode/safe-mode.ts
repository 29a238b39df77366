import type { SafeModeStatus } from '../core/index.ts'
import type { HealthCounts } from './replication.ts'

export interface SafeModeInit {
  /** Fraction of pinned blocks that must have a reported copy before leaving. Default 0.999. */
  threshold?: number
  /** How long to wait after reaching it, for late reports. Default 5 s. */
  extensionMs?: number
}

/**
 * A restarted namenode knows its pins but not yet where the blocks are: the
 * block map fills as datanodes report. Until enough of it is back, every
 * block would look missing and a repair storm would follow, so no copy or
 * delete is decided in safe mode (reads and puts still work). It ends by
 * itself once the threshold holds for the extension time, or by an
 * operator's `cairn safemode leave`; it never ends by itself while blocks
 * are truly missing, so the operator decides.
 */
export class SafeMode {
  private readonly threshold: number
  private readonly extensionMs: number
  private on = true
  private manual = false
  private reachedAtMs: number | undefined
  private reason = 'starting: waiting for block reports'
  private last: { reported: number, pinned: number } = { reported: 0, pinned: 0 }

  constructor (init: SafeModeInit = {}) {
    this.threshold = init.threshold ?? 0.999
    this.extensionMs = init.extensionMs ?? 5_000
  }

  get active (): boolean {
    return this.on
  }

  /** Called every monitor round with its counts (exact as of that round). */
  update (counts: HealthCounts, nowMs: number): boolean {
    this.last = { reported: counts.readable, pinned: counts.pinned }
    if (!this.on || this.manual) return false
    const fraction = counts.pinned === 0 ? 1 : counts.readable / counts.pinned
    if (fraction < this.threshold) {
      this.reachedAtMs = undefined
      this.reason = `waiting for block reports: ${counts.readable} of ${counts.pinned} pinned blocks have a copy (need ${(this.threshold * 100).toFixed(1)}%)`
      return false
    }
    this.reachedAtMs ??= nowMs
    if (nowMs - this.reachedAtMs < this.extensionMs) {
      this.reason = `threshold reached; leaving in ${Math.ceil((this.extensionMs - (nowMs - this.reachedAtMs)) / 1000)} s`
      return false
    }
    this.on = false
    this.reason = `left by itself: ${counts.readable} of ${counts.pinned} pinned blocks reported`
    return true
  }

  enter (): void {
    this.on = true
    this.manual = true
    this.reason = 'entered by an operator'
  }

  leave (): void {
    this.on = false
    this.manual = false
    this.reason = 'left by an operator'
  }

  status (): SafeModeStatus {
    return { on: this.on, reason: this.reason, reported: this.last.reported, pinned: this.last.pinned, threshold: this.threshold, manual: this.manual }
  }
}
