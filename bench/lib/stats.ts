/** A figure measured over several runs. */
export interface Spread {
  median: number
  min: number
  max: number
  runs: number
}

/** The median (mean of the middle two for an even count), robust to one noisy run on a shared machine. */
export function spread (values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('no values to summarize')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1
    ? sorted[mid] as number
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: sorted.length }
}

/** "45.2 (40.1-47.0)"; just the median when there is no spread to show. */
export function formatSpread (s: Spread | undefined, digits = 1, suffix = ''): string {
  if (s === undefined) return 'n/a'
  const f = (n: number): string => n.toFixed(digits)
  const median = `${f(s.median)}${suffix}`
  return s.runs === 1 || f(s.min) === f(s.max) ? median : `${median} (${f(s.min)}-${f(s.max)})`
}

/** A spread over the values that exist; undefined if none do (e.g. CPU time off Linux). */
export function spreadOf (values: ReadonlyArray<number | undefined>): Spread | undefined {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  return present.length === 0 ? undefined : spread(present)
}
