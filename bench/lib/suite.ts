import type { BenchOptions } from './options.ts'

export interface SuiteContext {
  /** A fresh directory for this suite inside the benchmark's temporary directory. */
  dir: string
  options: BenchOptions
  /** Progress, on stderr, so stdout holds only results. */
  log: (line: string) => void
  /** Results (a rendered table, a skip message), on stdout at once. */
  print: (text: string) => void
}

export interface Suite {
  name: string
  description: string
  /** Returns the suite's lines for the final summary. */
  run: (ctx: SuiteContext) => Promise<string[]>
}
