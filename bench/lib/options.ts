/** The benchmark's knobs, read from the environment (documented in bench/run.ts). */
export interface BenchOptions {
  /** Size of the big file put and got by each run, in MiB. */
  mib: number
  /** Repetitions; tables report the median with min and max. */
  runs: number
  /** Size for the memory-bound check, in MiB; 0 skips it. */
  bigMib: number
  /** Suites to run; undefined means all. */
  only: string[] | undefined
}

export function readOptions (env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const only = env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  return {
    mib: wholeNumber(env, 'BENCH_MIB', 256, 1),
    runs: wholeNumber(env, 'BENCH_RUNS', 3, 1),
    bigMib: wholeNumber(env, 'BENCH_BIG_MIB', 1024, 0),
    only: only === undefined || only.length === 0 ? undefined : only
  }
}

function wholeNumber (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const text = env[name]
  if (text === undefined || text.trim() === '') return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be a whole number >= ${min}, not ${JSON.stringify(text)}`)
  }
  return value
}
