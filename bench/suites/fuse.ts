/**
 * The drive: sequential write and read of a BENCH_MIB file through
 * `cairn mount`, beside a minimal passthrough fuse-native filesystem over
 * local disk (the binding's ceiling, same mount options) and the local
 * disk itself, and beside `cairn put` / `cairn get` of the same file; a
 * repeated read (the kernel's page cache); and small-file operations per
 * second (create, stat, read, remove of 1,000 4 KiB files). Every program
 * runs in its own process, as a user's would.
 */
import { spawn } from 'node:child_process'
import { mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TestCluster } from '../../test/helpers/cluster.ts'
import { MountProcess, forceUnmount, sh } from '../../test/fuse/mount-process.ts'
import { onCleanup } from '../lib/lifetime.ts'
import { writeRandomFile } from '../lib/random-file.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'
import { MiB } from '../lib/units.ts'
import { bareCopies, bareRead } from './cluster-steps.ts'

const SMALL_FILES = 1_000
const HERE = path.dirname(fileURLToPath(import.meta.url))
const PASSTHROUGH = path.join(HERE, '..', 'fuse', 'passthrough.ts')
const SMALL = path.join(HERE, '..', 'fuse', 'small-files.ts')

async function timed (command: string, cwd: string): Promise<number> {
  const start = performance.now()
  await sh(command, cwd, 1_800_000)
  return (performance.now() - start) / 1000
}

async function smallFiles (dir: string): Promise<{ create: number, stat: number, read: number, remove: number }> {
  const { stdout } = await sh(`"${process.execPath}" "${SMALL}" "${dir}" ${SMALL_FILES}`, dir.replace(/\/[^/]*$/, ''), 1_800_000)
  return JSON.parse(stdout.trim().split('\n').at(-1) as string)
}

async function passthrough (backing: string, mountpoint: string): Promise<() => Promise<void>> {
  await mkdir(backing, { recursive: true })
  await mkdir(mountpoint, { recursive: true })
  const child = spawn(process.execPath, [PASSTHROUGH, backing, mountpoint], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('mounted')) resolve() })
    child.once('exit', (code) => { reject(new Error(`passthrough exited with ${code}`)) })
  })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise((resolve) => { child.once('exit', resolve) })
    await forceUnmount(mountpoint)
  }
  onCleanup(stop)
  return stop
}

export const fuseSuite: Suite = {
  name: 'fuse',
  description: 'cairn mount: sequential MiB/s vs a passthrough FUSE filesystem and local disk, page-cache reads, small-file ops/s',
  run: async (ctx: SuiteContext) => {
    const mib = ctx.options.mib
    const bytes = mib * MiB
    const src = path.join(ctx.dir, 'src.bin')
    await writeRandomFile(src, bytes, 'fuse-bench')
    const rate = (seconds: number): string => `${(mib / seconds).toFixed(0)} MiB/s`
    const dd = (from: string, to: string, sync: boolean): string => `dd if="${from}" of="${to}" bs=1M status=none${sync ? ' conv=fsync' : ''}`

    ctx.log('fuse: local disk')
    const local = path.join(ctx.dir, 'local')
    await mkdir(local)
    const localWrite = await timed(dd(src, `${local}/copy.bin`, true), ctx.dir)
    const localRead = await timed(dd(`${local}/copy.bin`, '/dev/null', false), ctx.dir)
    const localSmall = await smallFiles(path.join(local, 'small'))

    ctx.log('fuse: passthrough fuse-native filesystem')
    const backing = path.join(ctx.dir, 'backing')
    const ptMount = path.join(ctx.dir, 'pt')
    const stopPt = await passthrough(backing, ptMount)
    const ptWrite = await timed(dd(src, `${ptMount}/copy.bin`, true), ctx.dir)
    await sh(`cp "${src}" "${backing}/other.bin"`, ctx.dir)
    const ptRead = await timed(dd(`${ptMount}/other.bin`, '/dev/null', false), ctx.dir)
    const ptSmall = await smallFiles(path.join(ptMount, 'small'))
    await stopPt()

    ctx.log('fuse: the same work by bare programs (2 copies written, 2 servers read)')
    const bareDir = path.join(ctx.dir, 'bare')
    const bareWrite = (await bareCopies(src, bareDir, bytes, 2)).seconds
    const bareCold = (await bareRead(src, bareDir, bytes, 2)).seconds
    await rm(bareDir, { recursive: true, force: true })

    ctx.log('fuse: a cluster (2 datanodes) and cairn mount')
    const cluster = await TestCluster.start({ datanodes: 2 })
    onCleanup(async () => { await cluster.stop() })
    const mounts: MountProcess[] = []
    onCleanup(async () => { for (const m of mounts) { await m.stop().catch(() => {}); await forceUnmount(m.dir) } })
    try {
      const put = performance.now()
      const putRun = await cluster.cairn(['put', '-q', src], { timeoutMs: 1_800_000 })
      const putSeconds = (performance.now() - put) / 1000
      const cid = putRun.stdout.toString().trim()
      const get = performance.now()
      await cluster.cairn(['get', cid, '-o', path.join(ctx.dir, 'got.bin')], { timeoutMs: 1_800_000 })
      const getSeconds = (performance.now() - get) / 1000
      await rm(path.join(ctx.dir, 'got.bin'), { force: true })

      const a = await MountProcess.start(cluster, path.join(ctx.dir, 'mnt-a'))
      mounts.push(a)
      // dd closes the file at the end: the time includes storing it at replication and publishing
      const mountWrite = await timed(dd(src, `${a.dir}/big.bin`, true), ctx.dir)
      const b = await MountProcess.start(cluster, path.join(ctx.dir, 'mnt-b'))
      mounts.push(b)
      const mountRead = await timed(dd(`${b.dir}/big.bin`, '/dev/null', false), ctx.dir)
      const mountReread = await timed(dd(`${b.dir}/big.bin`, '/dev/null', false), ctx.dir)
      await sh(`cmp "${src}" "${b.dir}/big.bin"`, ctx.dir, 1_800_000)
      const cairnSmall = await smallFiles(path.join(a.dir, 'small'))
      // the same with --writeback on another name: close returns once the file is spooled
      await cluster.cairn(['key', 'gen', 'bench-wb'])
      const c = await MountProcess.start(cluster, path.join(ctx.dir, 'mnt-c'), ['--name', 'bench-wb', '--writeback'])
      mounts.push(c)
      const wbSmall = await smallFiles(path.join(c.dir, 'small'))
      const drainStart = performance.now()
      await c.stop()
      const drainSeconds = (performance.now() - drainStart) / 1000

      const pct = (x: number, of: number): string => `${(100 * of / x).toFixed(0)}%`
      const ops = (v: number): string => `${v.toFixed(0)}/s`
      ctx.print(renderTable({
        title: `fuse: sequential ${mib} MiB through the mount (dd bs=1M), 2 datanodes`,
        head: ['', 'cairn mount', 'passthrough FUSE', 'local disk', 'cairn put/get', 'bare transfer', 'mount / passthrough', 'target'],
        rows: [
          ['write (to close, stored + published)', rate(mountWrite), rate(ptWrite), rate(localWrite), rate(putSeconds), rate(bareWrite), pct(mountWrite, ptWrite), '>= 50%'],
          ['read, cold (a second mount)', rate(mountRead), rate(ptRead), rate(localRead), rate(getSeconds), rate(bareCold), pct(mountRead, ptRead), '>= 70%'],
          ['read again (page cache)', rate(mountReread), '', '', '', '', '', '']
        ],
        notes: [
          'writes end with fsync (dd conv=fsync); cairn put/get are whole CLI runs, process start included',
          'bare transfer: the cluster\'s work for the same bytes by minimal programs, no FUSE, protocol or namenode: 2 hashed copies over TLS written as datanodes write (bench/reference/bare-copies.ts); a cold read from 2 servers that verify and send over TLS, hashed again on receipt (bench/reference/bare-read.ts)'
        ]
      }))
      ctx.print(renderTable({
        title: `fuse: ${SMALL_FILES} files of 4 KiB, one at a time`,
        head: ['', 'cairn mount', 'cairn mount --writeback', 'passthrough FUSE', 'local disk', 'JuiceFS (Redis)'],
        rows: [
          ['create (open, write, close)', ops(cairnSmall.create), ops(wbSmall.create), ops(ptSmall.create), ops(localSmall.create), '~1,400/s'],
          ['stat', ops(cairnSmall.stat), ops(wbSmall.stat), ops(ptSmall.stat), ops(localSmall.stat), '~5,000/s'],
          ['read', ops(cairnSmall.read), ops(wbSmall.read), ops(ptSmall.read), ops(localSmall.read), ''],
          ['remove', ops(cairnSmall.remove), ops(wbSmall.remove), ops(ptSmall.remove), ops(localSmall.remove), '']
        ],
        notes: [
          'cairn mount: each create returns once the file is stored at replication and the name published (close-to-open durability)',
          `--writeback: close returns once the file is spooled locally; storing and publishing run behind (the unmount after the run waited ${drainSeconds.toFixed(1)} s for the rest)`
        ]
      }))
      return [
        `write ${rate(mountWrite)} (${pct(mountWrite, ptWrite)} of passthrough ${rate(ptWrite)}), read ${rate(mountRead)} (${pct(mountRead, ptRead)} of ${rate(ptRead)}), page-cache read ${rate(mountReread)}, put ${rate(putSeconds)}, get ${rate(getSeconds)}; bare transfer: write ${rate(bareWrite)}, cold read ${rate(bareCold)}`,
        `small files: create ${ops(cairnSmall.create)}, stat ${ops(cairnSmall.stat)}, read ${ops(cairnSmall.read)}, remove ${ops(cairnSmall.remove)}`,
        `small files --writeback: create ${ops(wbSmall.create)}, stat ${ops(wbSmall.stat)}, read ${ops(wbSmall.read)}, remove ${ops(wbSmall.remove)}; unmount drained in ${drainSeconds.toFixed(1)} s`
      ]
    } finally {
      for (const m of mounts.splice(0)) { await m.stop().catch(() => {}); await forceUnmount(m.dir) }
      await cluster.stop()
    }
  }
}
