import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { BULK_NODE_FLAGS, BUNDLE_ENTRY, bundleIsFresh, SERVICE_NODE_FLAGS, SOURCE_ENTRY } from '../../cli/launch.js'
import { MAIN, runCairn } from '../helpers/cluster.ts'

const BIN = fileURLToPath(new URL('../../cli/bin.js', import.meta.url))

const dirs: string[] = []
/** Every `cairn up` started: a test that fails midway must not leave a cluster running (it holds the default ports). */
const started = new Set<ChildProcess>()
/** Those of them started as leaders of their own process group. */
const groups = new Set<ChildProcess>()
afterAll(async () => {
  for (const child of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    // one started in a process group of its own takes what it started along (bin.js's child, and its services)
    if (groups.has(child)) process.kill(-(child.pid as number), 'SIGKILL')
    else child.kill('SIGKILL')
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

/** Starts `cairn up` in `cwd` as a user would, and waits for its banner. */
async function up (cwd: string, args: string[] = []): Promise<{ stop: () => Promise<number | null>, banner: string }> {
  const child = spawn(process.execPath, [MAIN, 'up', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  started.add(child)
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`cairn up printed no banner: ${out} ${err}`)) }, 60_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Press Ctrl-C to stop.')) { clearTimeout(timer); resolve() }
    })
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`cairn up exited (${code ?? '?'}): ${err}`)) })
  })
  return {
    banner: out,
    stop: async () => {
      child.kill('SIGINT')
      return await exited
    }
  }
}

/** The command lines of the processes whose arguments name `dir` (the services of an `up` there). */
async function servicesUnder (dir: string): Promise<string[][]> {
  const found: string[][] = []
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    const args: string[] = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((s) => s.split('\0'), () => [])
    if (args.some((a) => a.startsWith(dir)) && (args.includes('namenode') || args.includes('datanode'))) found.push(args)
  }
  return found
}

async function cmdline (pid: number): Promise<string[]> {
  return await readFile(`/proc/${pid}/cmdline`, 'utf8').then((s) => s.split('\0'), () => [])
}

async function childrenOf (parent: number): Promise<number[]> {
  const found: number[] = []
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // the parent pid is the second field after the parenthesised command name
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === parent) found.push(Number(pid))
  }
  return found
}

describe('cairn up', () => {
  it('starts a local cluster, serves put/get from the same directory, stops cleanly on Ctrl-C, and reuses its data', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-up-'))
    dirs.push(dir)
    const first = await up(dir)
    expect(first.banner).toContain('a namenode and 3 datanodes')
    expect(first.banner).toContain(`cairn commands in ${dir} and below find it`)
    await writeFile(path.join(dir, 'hello.txt'), 'hello world')
    // no --config: the CLI finds ./.cairn/config.json, also from a subdirectory
    const put = await runCairn(['put', 'hello.txt'], { cwd: dir })
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()
    expect(root).toBe('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
    const report = JSON.parse((await runCairn(['report', '--json'], { cwd: path.join(dir, '.cairn') })).stdout.toString())
    expect(report.datanodes.filter((d: { state: string }) => d.state === 'live')).toHaveLength(3)
    // its services start with the Node options V8 takes only at start, from the file `up` runs from (bundle or sources)
    const services = await servicesUnder(dir)
    expect(services).toHaveLength(4)
    for (const args of services) for (const flag of SERVICE_NODE_FLAGS) expect(args).toContain(flag)
    for (const args of services) expect(args).toContain(MAIN)

    // a second `up` on the same data is refused while the first runs
    const second = await runCairn(['up'], { cwd: dir, timeoutMs: 30_000 })
    expect(second.code).toBe(4)
    expect(second.stderr).toContain('in use by another cairn up')

    expect(await first.stop()).toBe(0)
    const ps = await runCairn(['report'], { cwd: dir, timeoutMs: 20_000 })
    expect(ps.code).toBe(4)

    const again = await up(dir)
    const cat = await runCairn(['cat', root], { cwd: dir })
    expect(cat.stdout.toString()).toBe('hello world')
    expect(await again.stop()).toBe(0)
  }, 180_000)

  it('with --data elsewhere, says how to point commands at the config instead of promising they find it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-up-data-'))
    dirs.push(dir)
    const cluster = await up(dir, ['--data', 'cluster', '--datanodes', '1'])
    const config = path.join(dir, 'cluster', 'config.json')
    expect(cluster.banner).toContain(`export CAIRN_CONFIG=${config}`)
    expect(cluster.banner).not.toContain('find it')
    // as promised: from the same directory, nothing is found without it, and --config works
    const bare = { CAIRN_CONFIG: '', HOME: dir }
    expect((await runCairn(['report'], { cwd: dir, env: bare })).stderr).toContain('no Cairn cluster configuration found')
    const report = await runCairn(['report', '--config', config], { cwd: dir })
    expect(report.code, report.stderr).toBe(0)
    expect(await cluster.stop()).toBe(0)
  }, 120_000)

  it('Ctrl-C while it is still starting stops everything it started', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-up-int-'))
    dirs.push(dir)
    for (const delayMs of [300, 1_500, 3_000]) {
      const child = spawn(process.execPath, [MAIN, 'up', '--data', path.join(dir, String(delayMs))], { cwd: dir, stdio: 'ignore' })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
      await new Promise((r) => setTimeout(r, delayMs))
      child.kill('SIGINT')
      // before its handler is installed the signal simply ends it (code null), having started nothing
      const code = await exited
      expect([0, 130, null]).toContain(code)
      // give stragglers a moment, then no service of this data directory may be left
      await new Promise((r) => setTimeout(r, 500))
      const { execFile } = await import('node:child_process')
      const left = await new Promise<string>((resolve) => {
        execFile('pgrep', ['-f', path.join(dir, String(delayMs))], (_err, stdout) => { resolve(stdout.trim()) })
      })
      expect(left, `services left running after Ctrl-C at ${delayMs} ms`).toBe('')
    }
  }, 120_000)
})

describe('the cairn command (cli/bin.js)', () => {
  it('runs services and bulk transfers with the Node options V8 takes only at start, and a terminal\'s Ctrl-C stops a service cleanly once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-bin-'))
    dirs.push(dir)
    // its own process group, as a terminal's foreground job
    const child = spawn(process.execPath, [BIN, 'up', '--datanodes', '1', '--no-gateway'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    started.add(child)
    groups.add(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => child.on('exit', (code, signal) => { resolve({ code, signal }) }))
    while (!out.includes('Press Ctrl-C to stop.')) {
      if (child.exitCode !== null) throw new Error(`cairn up exited: ${err}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const services = await servicesUnder(dir)
    expect(services).toHaveLength(2)
    for (const args of services) for (const flag of SERVICE_NODE_FLAGS) expect(args).toContain(flag)
    // from the bundle while it is fresh (npm test builds it first), else the sources
    const entry = bundleIsFresh() ? BUNDLE_ENTRY : SOURCE_ENTRY
    for (const args of services) expect(args).toContain(entry)

    // a put reading stdin stays up until its input ends: look at the process that runs it
    const put = spawn(process.execPath, [BIN, 'put', '-'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] })
    started.add(put)
    let putOut = ''
    let putErr = ''
    put.stdout.on('data', (d: Buffer) => { putOut += d.toString() })
    put.stderr.on('data', (d: Buffer) => { putErr += d.toString() })
    const putExited = new Promise<number | null>((resolve) => put.on('exit', (code) => { resolve(code) }))
    let runner: string[] | undefined
    for (let i = 0; i < 200 && runner === undefined; i++) {
      const lines = await Promise.all([put.pid!, ...await childrenOf(put.pid!)].map(cmdline))
      runner = lines.find((args) => args.includes('put') && args.includes(entry))
      if (runner === undefined) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(runner, `no process runs ${entry} put: ${putErr}`).toBeDefined()
    for (const flag of BULK_NODE_FLAGS) expect(runner).toContain(flag)
    put.stdin.end('bulk')
    expect(await putExited, putErr).toBe(0)
    expect(putOut.trim()).toMatch(/^bafk/)

    // Ctrl-C: SIGINT to every process of the group, which cairn also passes on to its child
    process.kill(-child.pid!, 'SIGINT')
    expect(await exited).toEqual({ code: 0, signal: null })
    const logs = await Promise.all(['namenode', 'datanode-1'].map(async (name) => await readFile(path.join(dir, '.cairn', 'logs', `${name}.log`), 'utf8')))
    for (const log of logs) expect(log).toMatch(/stopped/)
    expect(await servicesUnder(dir)).toEqual([])
  })
})
