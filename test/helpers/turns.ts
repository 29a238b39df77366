import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * Waits for `work`, counting the event-loop turns it takes: how tests see
 * that a long pass (gc, balance, fsck) lets the loop run between slices.
 */
export async function countTurns<T> (work: Promise<T>): Promise<{ result: T, turns: number }> {
  let finished = false
  const settled = work.finally(() => { finished = true })
  let turns = 0
  while (!finished) {
    await nextTurn()
    turns++
  }
  return { result: await settled, turns }
}
