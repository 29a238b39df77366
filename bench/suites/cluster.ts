import { mkdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startCluster } from '../lib/cluster.ts'
import type { Cluster } from '../lib/cluster.ts'
import { settle } from '../lib/files.ts'
import { writeRandomFile } from '../lib/random-file.ts'
import { formatSpread, spread, spreadOf } from '../lib/stats.ts'
import type { Spread } from '../lib/stats.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'
import { MiB, mibPerSecond, toMiB } from '../lib/units.ts'
import { memoryBound } from './cluster-memory.ts'
import { cairnGet, cairnPut, bareCopies, referenceExport, referenceImport, verifySame } from './cluster-steps.ts'
import type { Step } from './cluster-steps.ts'

const DATANODES = 3
/** Issue 2's targets. */
const PUT_TARGET = 0.5
const GET_TARGET = 1.0
const MEMORY_TARGET_MIB = 300

interface Run {
  refImport: Step
  refExport: Step
  bare: Step
  put: Step
  get: Step
}

export const clusterSuite: Suite = {
  name: 'cluster',
  description: 'cairn put/get through a local 3-datanode cluster, against the UnixFS importer/exporter on one local blockstore',
  run
}

async function run (ctx: SuiteContext): Promise<string[]> {
  const { mib, runs } = ctx.options
  ctx.log(`cluster: starting cairn up --datanodes ${DATANODES}`)
  const cluster = await startCluster(path.join(ctx.dir, '.cairn'), DATANODES)
  try {
    const results: Run[] = []
    for (let i = 1; i <= runs; i++) {
      ctx.log(`cluster: run ${i}/${runs} (${mib} MiB)`)
      results.push(await oneRun(ctx, cluster, i))
    }
    const figures = summarize(results, mib * MiB)
    ctx.print(renderTable(mainTable(figures, mib, runs)))
    const summary = summaryLines(figures)
    summary.push(...await memoryBound(ctx, cluster, { put: figures.putPeak, get: figures.getPeak }))
    return summary
  } finally {
    ctx.log('cluster: stopping the cluster')
    await cluster.stop()
  }
}

/**
 * One repetition: a fresh file (a reused one would be deduplicated by the
 * cluster), then reference and Cairn back to back so both see the same
 * moment's machine. Each step starts with dirty pages flushed.
 */
async function oneRun (ctx: SuiteContext, cluster: Cluster, i: number): Promise<Run> {
  const bytes = ctx.options.mib * MiB
  const dir = path.join(ctx.dir, `run-${i}`)
  await mkdir(dir, { recursive: true })
  const input = path.join(dir, 'input.bin')
  const store = path.join(dir, 'reference-blocks')
  const sha256 = await writeRandomFile(input, bytes, `cluster-${ctx.options.mib}MiB-run-${i}`)

  await settle()
  const refImport = await referenceImport(input, store, bytes)
  if (refImport.root === undefined) throw new Error('reference import printed no root')
  await settle()
  const refOut = path.join(dir, 'reference-out.bin')
  const refExport = await referenceExport(refImport.root, store, refOut, bytes)
  await verifySame(refOut, sha256, 'reference export')
  await rm(refOut)
  await rm(store, { recursive: true })

  await settle()
  const bareDir = path.join(dir, 'bare-copies')
  const bare = await bareCopies(input, bareDir, bytes)
  await rm(bareDir, { recursive: true })

  await settle()
  const put = await cairnPut(cluster, input, bytes)
  if (put.root !== refImport.root) {
    throw new Error(`cairn put gave root ${put.root ?? '(none)'} but the reference importer gave ${refImport.root} for the same bytes and profile`)
  }
  await settle()
  const out = path.join(dir, 'cairn-out.bin')
  const get = await cairnGet(cluster, refImport.root, out, bytes)
  await verifySame(out, sha256, 'cairn get')
  await rm(dir, { recursive: true })
  return { refImport, refExport, bare, put, get }
}

interface Side {
  inProcess: Spread
  whole: Spread
  refInProcess: Spread
  refWhole: Spread
  ratio: Spread
  ratioWhole: Spread
  peak: Spread
  refPeak: Spread
  cpu: Spread | undefined
  clusterCpu: Spread | undefined
  refCpu: Spread | undefined
  busy: Spread | undefined
  refBusy: Spread | undefined
  overhead: Spread
}

interface Figures {
  put: Side
  get: Side
  /** The bare three-copy transfer's in-process MiB/s, and Cairn's put against it (per run). */
  bare: Spread
  ofBare: Spread
  putPeak: Spread
  getPeak: Spread
}

function summarize (runs: Run[], bytes: number): Figures {
  const side = (cairn: (r: Run) => Step, ref: (r: Run) => Step): Side => ({
    inProcess: spread(runs.map((r) => mibPerSecond(bytes, cairn(r).seconds))),
    whole: spread(runs.map((r) => mibPerSecond(bytes, cairn(r).wallSeconds))),
    refInProcess: spread(runs.map((r) => mibPerSecond(bytes, ref(r).seconds))),
    refWhole: spread(runs.map((r) => mibPerSecond(bytes, ref(r).wallSeconds))),
    // per run, so each ratio compares two measurements taken moments apart
    ratio: spread(runs.map((r) => ref(r).seconds / cairn(r).seconds)),
    ratioWhole: spread(runs.map((r) => ref(r).wallSeconds / cairn(r).wallSeconds)),
    peak: spread(runs.map((r) => toMiB(cairn(r).peakMemoryBytes))),
    refPeak: spread(runs.map((r) => toMiB(ref(r).peakMemoryBytes))),
    cpu: spreadOf(runs.map((r) => cairn(r).cpuSeconds)),
    clusterCpu: spreadOf(runs.map((r) => cairn(r).clusterCpuSeconds)),
    refCpu: spreadOf(runs.map((r) => ref(r).cpuSeconds)),
    busy: spreadOf(runs.map((r) => coresBusy(cairn(r).wallSeconds, cairn(r).cpuSeconds, cairn(r).clusterCpuSeconds))),
    refBusy: spreadOf(runs.map((r) => coresBusy(ref(r).wallSeconds, ref(r).cpuSeconds, 0))),
    overhead: spread(runs.map((r) => cairn(r).wallSeconds - cairn(r).seconds))
  })
  const put = side((r) => r.put, (r) => r.refImport)
  const get = side((r) => r.get, (r) => r.refExport)
  return {
    put,
    get,
    bare: spread(runs.map((r) => mibPerSecond(bytes, r.bare.seconds))),
    ofBare: spread(runs.map((r) => r.bare.seconds / r.put.seconds)),
    putPeak: put.peak,
    getPeak: get.peak
  }
}

/** Processors kept busy over the whole command: near the core count means out of CPU, not waiting on I/O. */
function coresBusy (wallSeconds: number, cpu: number | undefined, clusterCpu: number | undefined): number | undefined {
  return cpu === undefined || clusterCpu === undefined ? undefined : (cpu + clusterCpu) / wallSeconds
}

function verdict (met: boolean): string {
  return met ? 'met' : 'MISSED'
}

function mainTable (f: Figures, mib: number, runs: number): Parameters<typeof renderTable>[0] {
  const row = (label: string, pick: (s: Side) => string): string[] => [label, pick(f.put), pick(f.get)]
  const x = (s: Spread): string => formatSpread(s, 2, 'x')
  return {
    title: `cluster: put/get of a ${mib} MiB file, ${runs} run${runs === 1 ? '' : 's'}, ${DATANODES} datanodes, replication 3`,
    head: ['figure', 'put', 'get'],
    rows: [
      row('Cairn MiB/s, in-process', (s) => formatSpread(s.inProcess)),
      row('Cairn MiB/s, whole process', (s) => formatSpread(s.whole)),
      row('reference MiB/s, in-process', (s) => formatSpread(s.refInProcess)),
      row('reference MiB/s, whole process', (s) => formatSpread(s.refWhole)),
      row('Cairn / reference, in-process', (s) => x(s.ratio)),
      row('Cairn / reference, whole process', (s) => x(s.ratioWhole)),
      ['bare 3-copy transfer MiB/s, in-process', formatSpread(f.bare), ''],
      ['Cairn / bare 3-copy transfer', x(f.ofBare), ''],
      ['target (in-process ratio)', `>= ${PUT_TARGET.toFixed(1)}x: ${verdict(f.put.ratio.median >= PUT_TARGET)}`, `>= ${GET_TARGET.toFixed(1)}x: ${verdict(f.get.ratio.median >= GET_TARGET)}`],
      row('Cairn client peak memory MiB', (s) => formatSpread(s.peak, 0)),
      row(`target (< ${MEMORY_TARGET_MIB} MiB)`, (s) => verdict(s.peak.median < MEMORY_TARGET_MIB)),
      row('reference peak memory MiB', (s) => formatSpread(s.refPeak, 0)),
      row('Cairn start-up + exit s', (s) => formatSpread(s.overhead, 2)),
      row('CPU s: Cairn client', (s) => formatSpread(s.cpu, 1)),
      row('CPU s: Cairn cluster', (s) => formatSpread(s.clusterCpu, 1)),
      row('CPU s: reference', (s) => formatSpread(s.refCpu, 1)),
      row('cores busy: Cairn client + cluster', (s) => formatSpread(s.busy, 2)),
      row('cores busy: reference', (s) => formatSpread(s.refBusy, 2))
    ],
    notes: [
      `median (min-max); each run puts a fresh random ${mib} MiB file (the cluster deduplicates), reference first, then the bare transfer, then Cairn`,
      'in-process: the command\'s own timer around the transfer; whole process: spawn to exit (adds Node start-up, loading, connecting)',
      'ratios: median of per-run ratios; the target is judged on the in-process ratio',
      'reference: ipfs-unixfs-importer/-exporter, profile unixfs-v1-2025, one blockstore-fs on the same disk: 1 copy, no fsync, no network',
      'bare 3-copy transfer (bench/reference/bare-copies.ts): a put\'s work by a minimal program: read and hash once, 3 copies over TLS with the data channel\'s cipher to 3 processes that hash each block and write it as a datanode does (O_DIRECT, fsync); no protocol, namenode or DAG',
      `Cairn: cairn up with ${DATANODES} datanodes on this machine (${os.availableParallelism()} cores): 3 copies over loopback, each fsynced by its datanode`,
      'CPU s: user + system seconds of the whole process; cluster: cairn up, namenode and datanodes during the command',
      `cores busy: all those CPU seconds / whole-process wall seconds (this machine has ${os.availableParallelism()})`,
      'every run checks that Cairn\'s root CID equals the reference\'s and that both outputs equal the input (sha256)'
    ]
  }
}

function summaryLines (f: Figures): string[] {
  const r = (s: Spread): string => `${s.median.toFixed(2)}x`
  return [
    `put ${f.put.inProcess.median.toFixed(1)} MiB/s = ${r(f.put.ratio)} the reference import (target >= ${PUT_TARGET.toFixed(1)}x: ${verdict(f.put.ratio.median >= PUT_TARGET)}); ${r(f.ofBare)} a bare three-copy transfer (${f.bare.median.toFixed(1)} MiB/s)`,
    `get ${f.get.inProcess.median.toFixed(1)} MiB/s = ${r(f.get.ratio)} the reference export (target >= ${GET_TARGET.toFixed(1)}x: ${verdict(f.get.ratio.median >= GET_TARGET)})`,
    `client peak memory: put ${f.putPeak.median.toFixed(0)} MiB, get ${f.getPeak.median.toFixed(0)} MiB (target < ${MEMORY_TARGET_MIB} MiB: ${verdict(Math.max(f.putPeak.median, f.getPeak.median) < MEMORY_TARGET_MIB)})`
  ]
}
