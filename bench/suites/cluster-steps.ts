import path from 'node:path'
import type { Cluster } from '../lib/cluster.ts'
import { sha256File } from '../lib/files.ts'
import { lastJson, ROOT, runNode } from '../lib/spawn.ts'
import type { ChildRun } from '../lib/spawn.ts'
import { MiB } from '../lib/units.ts'
import { nodeFlagsFor } from '../../cli/launch.js'

/** One measured transfer, by either side. */
export interface Step {
  /** The process's own timer around the transfer. */
  seconds: number
  /** Spawn to exit: Node start-up, module loading, connecting, the transfer, exit. */
  wallSeconds: number
  /** Of the command's process alone. */
  cpuSeconds: number | undefined
  /** Of the cluster's processes during the command (Cairn only). */
  clusterCpuSeconds: number | undefined
  peakMemoryBytes: number
  root: string | undefined
}

const IMPORT = path.join(ROOT, 'bench', 'reference', 'import.ts')
const EXPORT = path.join(ROOT, 'bench', 'reference', 'export.ts')
const BARE_COPIES = path.join(ROOT, 'bench', 'reference', 'bare-copies.ts')
const BARE_READ = path.join(ROOT, 'bench', 'reference', 'bare-read.ts')

/** Generous: a slow build should be measured, not killed; a hung one should not hang the benchmark. */
export function timeoutFor (bytes: number): number {
  return 120_000 + 2_000 * Math.ceil(bytes / MiB)
}

export async function referenceImport (file: string, storeDir: string, bytes: number): Promise<Step> {
  const run = await runNode(IMPORT, [file, storeDir], { label: 'reference import', timeoutMs: timeoutFor(bytes) })
  return step(run, 'reference import', undefined)
}

export async function referenceExport (root: string, storeDir: string, out: string, bytes: number): Promise<Step> {
  const run = await runNode(EXPORT, [root, storeDir, out], { label: 'reference export', timeoutMs: timeoutFor(bytes) })
  return step(run, 'reference export', undefined)
}

/** `copies` copies over the data channel's TLS, each hashed and written durably, by a minimal program (bench/reference/bare-copies.ts). */
export async function bareCopies (file: string, workDir: string, bytes: number, copies = 3): Promise<Step> {
  // with the Node options a put runs with, so it and Cairn differ only in what they do
  const run = await runNode(BARE_COPIES, [file, workDir, String(copies)], { label: `bare ${copies}-copy transfer`, timeoutMs: timeoutFor(bytes), nodeFlags: nodeFlagsFor(['put']) })
  return step(run, `bare ${copies}-copy transfer`, undefined)
}

/** A cold read of `file` from `servers` processes that store it as datanodes do, by a minimal program (bench/reference/bare-read.ts). */
export async function bareRead (file: string, workDir: string, bytes: number, servers = 2): Promise<Step> {
  const run = await runNode(BARE_READ, [file, workDir, String(servers)], { label: 'bare read', timeoutMs: timeoutFor(bytes), nodeFlags: nodeFlagsFor(['get']) })
  return step(run, 'bare read', undefined)
}

export async function cairnPut (cluster: Cluster, file: string, bytes: number): Promise<Step> {
  const before = cluster.cpuSeconds()
  const run = await cluster.cli(['put', '-r', '3', '--json', file], timeoutFor(bytes))
  const after = cluster.cpuSeconds()
  const result = step(run, 'cairn put', cpuDelta(before, after))
  const skipped = lastJson(run, 'cairn put').blocksSkipped
  // a put the cluster deduplicated measured nothing: the file was not fresh
  if (typeof skipped === 'number' && skipped > 0) throw new Error(`cairn put skipped ${skipped} blocks the cluster already had; the benchmark file was not fresh`)
  return result
}

export async function cairnGet (cluster: Cluster, root: string, out: string, bytes: number): Promise<Step> {
  const before = cluster.cpuSeconds()
  const run = await cluster.cli(['get', '--json', root, '-o', out], timeoutFor(bytes))
  const after = cluster.cpuSeconds()
  return step(run, 'cairn get', cpuDelta(before, after))
}

/** Fails the benchmark if a transfer returned other bytes: a fast wrong answer is no result. */
export async function verifySame (file: string, sha256: string, what: string): Promise<void> {
  const actual = await sha256File(file)
  if (actual !== sha256) throw new Error(`${what} wrote different bytes (sha256 ${actual}, expected ${sha256})`)
}

function step (run: ChildRun, label: string, clusterCpuSeconds: number | undefined): Step {
  const json = lastJson(run, label)
  const seconds = json.seconds
  const peak = json.peakMemoryBytes
  if (typeof seconds !== 'number' || typeof peak !== 'number') {
    throw new Error(`${label} printed no "seconds" or "peakMemoryBytes": ${JSON.stringify(json)}`)
  }
  return {
    seconds,
    wallSeconds: run.wallSeconds,
    cpuSeconds: run.cpuSeconds,
    clusterCpuSeconds,
    peakMemoryBytes: peak,
    root: typeof json.root === 'string' ? json.root : undefined
  }
}

function cpuDelta (before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before
}
