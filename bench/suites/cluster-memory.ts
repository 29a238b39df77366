import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Cluster } from '../lib/cluster.ts'
import { freeBytes, settle } from '../lib/files.ts'
import { writeRandomFile } from '../lib/random-file.ts'
import { formatSpread } from '../lib/stats.ts'
import type { Spread } from '../lib/stats.ts'
import type { SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'
import { MiB, mibPerSecond, toMiB } from '../lib/units.ts'
import { cairnGet, cairnPut, verifySame } from './cluster-steps.ts'

/** The input, the output, and three replicas on the same disk. */
const DISK_FACTOR = 5

/**
 * Puts and gets one big file through the same cluster and sets the
 * client's peak memory beside the small file's: a streaming client stays
 * flat, one that buffers grows with the file.
 */
export async function memoryBound (ctx: SuiteContext, cluster: Cluster, small: { put: Spread, get: Spread }): Promise<string[]> {
  const { bigMib, mib } = ctx.options
  if (bigMib === 0) {
    ctx.print('== cluster: memory bound == skipped (BENCH_BIG_MIB=0)\n')
    return ['memory bound: skipped (BENCH_BIG_MIB=0)']
  }
  const bytes = bigMib * MiB
  const free = await freeBytes(ctx.dir)
  if (free < DISK_FACTOR * bytes) {
    const why = `needs ${DISK_FACTOR} x ${bigMib} MiB free on ${ctx.dir}'s disk, has ${Math.floor(toMiB(free))} MiB; set BENCH_BIG_MIB lower`
    ctx.print(`== cluster: memory bound == skipped: ${why}\n`)
    return [`memory bound: skipped (${why})`]
  }

  const dir = path.join(ctx.dir, 'big')
  await mkdir(dir, { recursive: true })
  const input = path.join(dir, 'input.bin')
  ctx.log(`cluster: memory bound: writing a ${bigMib} MiB file`)
  const sha256 = await writeRandomFile(input, bytes, `cluster-big-${bigMib}MiB`)
  await settle()
  ctx.log(`cluster: memory bound: put and get of ${bigMib} MiB`)
  const put = await cairnPut(cluster, input, bytes)
  if (put.root === undefined) throw new Error('cairn put printed no root')
  await settle()
  const out = path.join(dir, 'out.bin')
  const get = await cairnGet(cluster, put.root, out, bytes)
  await verifySame(out, sha256, `cairn get of the ${bigMib} MiB file`)
  await rm(dir, { recursive: true })

  const putBig = toMiB(put.peakMemoryBytes)
  const getBig = toMiB(get.peakMemoryBytes)
  const growth = (big: number, s: Spread): string => `${big - s.median >= 0 ? '+' : ''}${(big - s.median).toFixed(0)} MiB`
  ctx.print(renderTable({
    title: `cluster: client peak memory, ${mib} MiB vs ${bigMib} MiB file`,
    head: ['figure', `${mib} MiB (median)`, `${bigMib} MiB (1 run)`, 'growth'],
    rows: [
      ['put peak memory MiB', formatSpread(small.put, 0), putBig.toFixed(0), growth(putBig, small.put)],
      ['get peak memory MiB', formatSpread(small.get, 0), getBig.toFixed(0), growth(getBig, small.get)],
      ['put MiB/s, in-process', '', mibPerSecond(bytes, put.seconds).toFixed(1), ''],
      ['get MiB/s, in-process', '', mibPerSecond(bytes, get.seconds).toFixed(1), '']
    ],
    notes: [`peak memory is the client process's maximum RSS; a file ${Number((bigMib / mib).toFixed(1))}x larger should not need more`]
  }))
  return [`memory bound: ${bigMib} MiB file: put peak ${putBig.toFixed(0)} MiB (${growth(putBig, small.put)} vs ${mib} MiB), get peak ${getBig.toFixed(0)} MiB (${growth(getBig, small.get)})`]
}
