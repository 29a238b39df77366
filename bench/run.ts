/**
 * Cairn's benchmark: prints figures, never fails on speed (it fails only
 * when something breaks, e.g. a transfer returns other bytes). Run from the
 * repository root: `npm run bench`, or `npx node bench/run.ts`.
 *
 * Environment:
 *   BENCH_MIB      size of the big file per run, MiB (default 256)
 *   BENCH_RUNS     repetitions; tables show the median and (min-max) (default 3)
 *   BENCH_BIG_MIB  file size for the memory-bound check, MiB (default 1024;
 *                  4096 shows 4 GiB; 0 skips it; skipped too if the disk has
 *                  less than 5x that free)
 *   BENCH_ONLY     comma-separated suite names to run (default all: cluster,
 *                  namenode-memory, namenode-rounds, repair, naming, fuse,
 *                  gateway)
 *   BENCH_REPAIR_MIB  data pinned for the repair suite, MiB (default 1024)
 *
 * Everything happens in a fresh directory under os.tmpdir(), removed at the
 * end, also on errors and Ctrl-C; every child process is stopped.
 */
import { mkdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { BUNDLE_ENTRY } from '../cli/launch.js'
import { CLI } from './lib/cluster.ts'
import { cleanup, installExitHandlers, isInterrupted, makeTempDir } from './lib/lifetime.ts'
import { readOptions } from './lib/options.ts'
import type { Suite } from './lib/suite.ts'
import { clusterSuite } from './suites/cluster.ts'
import { namenodeMemorySuite } from './suites/namenode-memory.ts'
import { namenodeRoundsSuite } from './suites/namenode-rounds.ts'
import { repairSuite } from './suites/repair.ts'
import { namingSuite } from './suites/naming.ts'
import { gatewaySuite } from './suites/gateway.ts'
import { fuseSuite } from './suites/fuse.ts'

const SUITES: Suite[] = [clusterSuite, namenodeMemorySuite, namenodeRoundsSuite, repairSuite, namingSuite, fuseSuite, gatewaySuite]

async function main (): Promise<void> {
  const options = readOptions()
  const unknown = (options.only ?? []).filter((name) => !SUITES.some((s) => s.name === name))
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')} in BENCH_ONLY; suites: ${SUITES.map((s) => s.name).join(', ')}`)
  const chosen = SUITES.filter((s) => options.only === undefined || options.only.includes(s.name))

  installExitHandlers()
  const root = await makeTempDir()
  const log = (line: string): void => { process.stderr.write(`bench: ${line}\n`) }
  const print = (text: string): void => { process.stdout.write(`${text}\n`) }
  print(`Cairn benchmark  ${new Date().toISOString()}  Node ${process.version}  ${os.availableParallelism()} cores  ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM  load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  print(`BENCH_MIB=${options.mib} BENCH_RUNS=${options.runs} BENCH_BIG_MIB=${options.bigMib} BENCH_ONLY=${chosen.map((s) => s.name).join(',')}  in ${root}`)
  // start-up figures depend on it (cli/launch.js)
  print(`cairn runs ${CLI === BUNDLE_ENTRY ? 'the bundle (dist/cairn.js)' : 'the sources (the bundle is missing or stale: npm run build)'}\n`)

  const summary: string[] = []
  const started = performance.now()
  for (const suite of chosen) {
    const dir = path.join(root, suite.name)
    await mkdir(dir, { recursive: true })
    log(`${suite.name}: ${suite.description}`)
    const lines = await suite.run({ dir, options, log, print })
    summary.push(...lines.map((line) => `${suite.name}: ${line}`))
  }
  print(`== summary (${((performance.now() - started) / 1000).toFixed(0)} s; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}) ==`)
  for (const line of summary) print(line)
}

try {
  await main()
} catch (err) {
  if (!isInterrupted()) process.stderr.write(`bench: failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
