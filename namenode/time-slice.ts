import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * For operator work over every block (gc, balance, fsck): at a million
 * blocks one pass takes seconds, and the namenode must go on answering
 * heartbeats, puts and reads meanwhile. Call `maybeYield` between small
 * steps; it gives the event loop a turn once `ms` have passed since the
 * last one.
 */
export class TimeSlice {
  private readonly ms: number
  private startedMs = performance.now()

  /** `ms`: default TIME_SLICE_MS; 0 yields at every call (tests). */
  constructor (ms: number = TIME_SLICE_MS) {
    this.ms = ms
  }

  async maybeYield (): Promise<void> {
    if (performance.now() - this.startedMs < this.ms) return
    await nextTurn()
    this.startedMs = performance.now()
  }
}

/** The longest a pass holds the event loop at once, about one monitor round's sweep slice. */
export const TIME_SLICE_MS = 20

/** How a long pass is cut: what tests set low to force many slices. */
export interface SliceOptions {
  /** Default TIME_SLICE_MS. */
  sliceMs?: number
  /** Blocks between looks at the clock. Default 1,000. */
  checkEvery?: number
}
