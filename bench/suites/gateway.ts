/**
 * The HTTP gateway against the direct path: a 256 MiB file through
 * `cairn gateway` (a separate process, as a user runs it) downloaded over
 * loopback into a file, beside `cairn get` of the same file; and requests
 * per second for a small file (keep-alive, 32 at once) beside `cairn get`
 * of it (a whole process per get, which is how a script would fetch it).
 */
import { createWriteStream } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { Agent, get as httpGet } from 'node:http'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pipeline } from 'node:stream/promises'
import { startCluster } from '../lib/cluster.ts'
import { spawnCairn } from '../lib/cluster.ts'
import { freeBytes, settle } from '../lib/files.ts'
import { killGroup, onCleanup } from '../lib/lifetime.ts'
import { writeRandomFile } from '../lib/random-file.ts'
import { closed, lastJson } from '../lib/spawn.ts'
import { formatSpread, spread, spreadOf } from '../lib/stats.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'
import { MiB, mibPerSecond } from '../lib/units.ts'
import { cairnGet, timeoutFor, verifySame } from './cluster-steps.ts'

/** Issue 6's target: the gateway streams at least this fraction of a direct get. */
const TARGET = 0.8
const SMALL_BYTES = 4 * 1024
const SMALL_SECONDS = 5
const SMALL_CONCURRENCY = 32
const SMALL_DIRECT_GETS = 5

export const gatewaySuite: Suite = {
  name: 'gateway',
  description: 'cairn gateway: a big file over HTTP against cairn get, and small-file requests per second',
  run
}

async function run (ctx: SuiteContext): Promise<string[]> {
  const { mib, runs } = ctx.options
  const bytes = mib * MiB
  ctx.log('gateway: starting cairn up --datanodes 3 and cairn gateway')
  const cluster = await startCluster(path.join(ctx.dir, '.cairn'), 3)
  const gateway = await startGateway(cluster.configFile)
  try {
    const gatewayMiBs: number[] = []
    const getMiBs: number[] = []
    const ratios: number[] = []
    const peaks: Array<number | undefined> = []
    for (let i = 1; i <= runs; i++) {
      ctx.log(`gateway: run ${i}/${runs} (${mib} MiB)`)
      const input = path.join(ctx.dir, `input-${i}.bin`)
      const sha256 = await writeRandomFile(input, bytes, `gateway-${mib}MiB-run-${i}`)
      const put = await cluster.cli(['put', '-r', '3', '--json', input], timeoutFor(bytes))
      const root = String(lastJson(put, 'cairn put').root)
      await rm(input)

      const viaGet = async (): Promise<number> => {
        await settle()
        const out = path.join(ctx.dir, `get-${i}.bin`)
        const direct = await cairnGet(cluster, root, out, bytes)
        await verifySame(out, sha256, 'cairn get')
        await rm(out)
        return direct.seconds
      }
      const viaGateway = async (): Promise<number> => {
        await settle()
        const out = path.join(ctx.dir, `http-${i}.bin`)
        await gateway.resetPeak()
        const seconds = await download(`${gateway.url}ipfs/${root}`, out)
        peaks.push(await gateway.peakMiB())
        await verifySame(out, sha256, 'the gateway')
        await rm(out)
        return seconds
      }
      // alternate which goes first, so neither always meets the warmer (or busier) machine
      const direct = { seconds: 0 }
      let seconds = 0
      if (i % 2 === 1) {
        direct.seconds = await viaGet()
        seconds = await viaGateway()
      } else {
        seconds = await viaGateway()
        direct.seconds = await viaGet()
      }

      getMiBs.push(mibPerSecond(bytes, direct.seconds))
      gatewayMiBs.push(mibPerSecond(bytes, seconds))
      ratios.push(direct.seconds / seconds)
    }

    ctx.log('gateway: small file requests')
    const small = path.join(ctx.dir, 'small.bin')
    await writeFile(small, Buffer.alloc(SMALL_BYTES, 7))
    const smallRoot = String(lastJson(await cluster.cli(['put', '--json', small], 60_000), 'cairn put').root)
    const rps = await requestsPerSecond(`${gateway.url}ipfs/${smallRoot}`, SMALL_BYTES)
    const directWall: number[] = []
    for (let i = 0; i < SMALL_DIRECT_GETS; i++) {
      const run = await cluster.cli(['get', '--json', smallRoot, '-o', path.join(ctx.dir, 'small-out.bin')], 60_000)
      directWall.push(run.wallSeconds)
    }
    const peakMiB = spreadOf(peaks)
    const big = await bigDownload(ctx, cluster, gateway)

    const g = spread(gatewayMiBs)
    const d = spread(getMiBs)
    const r = spread(ratios)
    const directRps = 1 / spread(directWall).median
    const met = r.median >= TARGET ? 'met' : 'MISSED'
    ctx.print(renderTable({
      title: `gateway: a ${mib} MiB file over HTTP and a ${SMALL_BYTES / 1024} KiB file, ${runs} run${runs === 1 ? '' : 's'}, 3 datanodes`,
      head: ['figure', 'gateway', 'cairn get', 'gateway / get'],
      rows: [
        [`${mib} MiB file, MiB/s`, formatSpread(g), formatSpread(d), `${formatSpread(r, 2, 'x')} (target >= ${TARGET}x: ${met})`],
        [`${SMALL_BYTES / 1024} KiB file, requests/s`, rps.toFixed(0), directRps.toFixed(1), ''],
        [`gateway peak memory (VmHWM) serving ${mib} MiB, MiB`, formatSpread(peakMiB, 0), '', ''],
        [`gateway peak memory serving ${ctx.options.bigMib} MiB, MiB`, big === undefined ? 'skipped' : big.peakMiB?.toFixed(0) ?? 'n/a', '', big === undefined ? '' : `${big.mibPerSecond.toFixed(1)} MiB/s`]
      ],
      notes: [
        'gateway: `cairn gateway` in its own process; the benchmark downloads over loopback HTTP into a file (as curl -o would), timed from request to last byte',
        'cairn get: its own in-process timer around the transfer, also into a file; both outputs are checked against the input (sha256); runs alternate which goes first',
        `small file: ${SMALL_CONCURRENCY} keep-alive connections for ${SMALL_SECONDS} s against the gateway; cairn get: one process per get (wall time, start-up included)`,
        'peak memory: the gateway process\'s maximum RSS during one download (reset before each); the big file goes to /dev/null (BENCH_BIG_MIB, 0 skips it)'
      ]
    }))
    return [
      `${mib} MiB through the gateway ${g.median.toFixed(1)} MiB/s vs cairn get ${d.median.toFixed(1)} MiB/s = ${r.median.toFixed(2)}x (target >= ${TARGET}x: ${met})`,
      `small file: ${rps.toFixed(0)} requests/s through the gateway (cairn get: ${directRps.toFixed(1)}/s as a process per get); gateway peak memory ${peakMiB?.median.toFixed(0) ?? 'n/a'} MiB for ${mib} MiB, ${big?.peakMiB?.toFixed(0) ?? 'n/a'} MiB for ${ctx.options.bigMib} MiB`
    ]
  } finally {
    await gateway.stop()
    await cluster.stop()
  }
}

interface RunningGateway {
  url: string
  peakMiB: () => Promise<number | undefined>
  /** Starts the peak over (Linux: clear_refs 5 resets VmHWM). */
  resetPeak: () => Promise<void>
  stop: () => Promise<void>
}

async function startGateway (configFile: string): Promise<RunningGateway> {
  const child = spawnCairn(['--config', configFile, 'gateway', '--listen', '127.0.0.1:0'], { graceful: true })
  const done = closed(child)
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => { killGroup(child, 'SIGKILL') }, 15_000)
    await done.catch(() => {})
    clearTimeout(timer)
  }
  onCleanup(stop)
  child.stderr.resume()
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('cairn gateway printed no URL within 60 s')) }, 60_000)
    createInterface({ input: child.stdout }).once('line', (line) => { clearTimeout(timer); resolve(line.trim()) })
    void done.then(({ code }) => { clearTimeout(timer); reject(new Error(`cairn gateway exited (${code ?? '?'})`)) })
  })
  return {
    url,
    stop,
    resetPeak: async () => { await writeFile(`/proc/${child.pid}/clear_refs`, '5').catch(() => {}) },
    peakMiB: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
      const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
      return kb === undefined ? undefined : Number(kb) / 1024
    }
  }
}

/** A big file through the gateway into /dev/null: its peak memory shows whether streaming is bounded. */
async function bigDownload (ctx: SuiteContext, cluster: Awaited<ReturnType<typeof startCluster>>, gateway: RunningGateway): Promise<{ peakMiB: number | undefined, mibPerSecond: number } | undefined> {
  const { bigMib } = ctx.options
  const bytes = bigMib * MiB
  if (bigMib === 0 || await freeBytes(ctx.dir) < 5 * bytes) return undefined
  ctx.log(`gateway: ${bigMib} MiB through the gateway`)
  const input = path.join(ctx.dir, 'big.bin')
  await writeRandomFile(input, bytes, `gateway-big-${bigMib}MiB`)
  const root = String(lastJson(await cluster.cli(['put', '-r', '3', '--json', input], timeoutFor(bytes)), 'cairn put').root)
  await rm(input)
  await settle()
  await gateway.resetPeak()
  const seconds = await download(`${gateway.url}ipfs/${root}`, '/dev/null')
  return { peakMiB: await gateway.peakMiB(), mibPerSecond: mibPerSecond(bytes, seconds) }
}

/** Seconds from request to the last byte written to `out`. */
async function download (url: string, out: string): Promise<number> {
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    httpGet(url, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`${url}: HTTP ${res.statusCode ?? '?'}`)); res.resume(); return }
      pipeline(res, createWriteStream(out)).then(resolve, reject)
    }).on('error', reject)
  })
  return (performance.now() - started) / 1000
}

async function requestsPerSecond (url: string, expectedBytes: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: SMALL_CONCURRENCY })
  const deadline = performance.now() + SMALL_SECONDS * 1000
  let count = 0
  const one = async (): Promise<void> => await new Promise((resolve, reject) => {
    httpGet(url, { agent }, (res) => {
      let got = 0
      res.on('data', (d: Buffer) => { got += d.length })
      res.on('end', () => {
        if (res.statusCode !== 200 || got !== expectedBytes) reject(new Error(`${url}: HTTP ${res.statusCode ?? '?'}, ${got} bytes`))
        else resolve()
      })
    }).on('error', reject)
  })
  const started = performance.now()
  await Promise.all(Array.from({ length: SMALL_CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      await one()
      count++
    }
  }))
  agent.destroy()
  return count / ((performance.now() - started) / 1000)
}
