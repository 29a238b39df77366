import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { cliEntry, nodeFlagsFor, SERVICE_NODE_FLAGS } from '../../cli/launch.js'
import { CairnClient, readClusterKey } from '../../core/index.ts'
import type { ClusterReport } from '../../core/index.ts'

/** What the `cairn` command runs: the bundle when it is fresh (npm test builds it first), else the sources. */
export const MAIN = cliEntry()

export interface RunResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

export interface RunOptions {
  input?: Uint8Array | string
  timeoutMs?: number
  env?: Record<string, string>
  cwd?: string
  /** Run as this user and group (the tests must be root to ask). */
  uid?: number
  gid?: number
}

/** Runs the real CLI in its own process, with the Node options `cairn` gives it. Never hangs a test: killed after `timeoutMs`. */
export async function runCairn (args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [...nodeFlagsFor(args), MAIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, CAIRN_LOG: 'warn', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid })
  })
  const out: Buffer[] = []
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out.push(d) })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  child.stdin.on('error', () => {})
  if (options.input !== undefined) child.stdin.end(options.input)
  else child.stdin.end()
  const timer = setTimeout(() => { child.kill('SIGKILL') }, options.timeoutMs ?? 60_000)
  const code = await new Promise<number | null>((resolve) => { child.on('close', (c) => { resolve(c) }) })
  clearTimeout(timer)
  return { code, stdout: Buffer.concat(out), stderr: err }
}

export interface ClusterOptions {
  datanodes?: number
  heartbeatIntervalMs?: number
  staleAfterMs?: number
  deadAfterMs?: number
  /** Extra flags per datanode (by index). */
  datanodeArgs?: (index: number) => string[]
  /** Extra flags for the namenode. */
  namenodeArgs?: string[]
}

interface Proc {
  child: ChildProcess
  exited: Promise<void>
}

/**
 * A real cluster for a test: a namenode and datanodes, each its own
 * process, on loopback, in a temp directory. Heartbeats are fast so liveness
 * changes within seconds.
 */
export class TestCluster {
  readonly dir: string
  readonly options: Required<Omit<ClusterOptions, 'datanodeArgs' | 'namenodeArgs'>> & Pick<ClusterOptions, 'datanodeArgs' | 'namenodeArgs'>
  namenodeAddress = ''
  private namenodePort = 0
  private namenode: Proc | undefined
  readonly datanodes: Array<Proc | undefined> = []
  readonly datanodeIds: string[] = []

  private constructor (dir: string, options: ClusterOptions) {
    this.dir = dir
    this.options = {
      datanodes: options.datanodes ?? 3,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 500,
      staleAfterMs: options.staleAfterMs ?? 1_500,
      deadAfterMs: options.deadAfterMs ?? 3_000,
      datanodeArgs: options.datanodeArgs,
      namenodeArgs: options.namenodeArgs
    }
  }

  static async start (options: ClusterOptions = {}): Promise<TestCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-test-'))
    const cluster = new TestCluster(dir, options)
    try {
      await cluster.startNamenode()
      for (let i = 0; i < cluster.options.datanodes; i++) await cluster.startDatanode(i)
      await cluster.waitForLive(cluster.options.datanodes)
      // as a cluster that has run a moment: gc and balance refuse to run in safe mode
      await cluster.waitFor(async (client) => !(await client.report()).safeMode.on, 'the namenode to leave safe mode')
    } catch (err) {
      // the caller never gets the cluster to stop: do it here, or its processes outlive the test
      await cluster.stop()
      throw err
    }
    return cluster
  }

  get configFile (): string {
    return path.join(this.dir, '.cairn', 'config.json')
  }

  get keyFile (): string {
    return path.join(this.dir, '.cairn', 'cluster.key')
  }

  datanodeDir (index: number): string {
    return path.join(this.dir, `datanode-${index}`)
  }

  /** Runs the CLI against this cluster. */
  async cairn (args: string[], options: RunOptions = {}): Promise<RunResult> {
    return await runCairn(['--config', this.configFile, ...args], { cwd: this.dir, ...options })
  }

  async startNamenode (): Promise<void> {
    const listen = `/ip4/127.0.0.1/tcp/${this.namenodePort}`
    const child = this.spawn('namenode', [
      'namenode', '--data', path.join(this.dir, 'namenode'), '--listen', listen, '--cluster-key', this.keyFile,
      '--heartbeat-interval', String(this.options.heartbeatIntervalMs),
      '--stale-after', String(this.options.staleAfterMs), '--dead-after', String(this.options.deadAfterMs),
      '--monitor-interval', '250', '--safemode-extension', '500', ...(this.options.namenodeArgs ?? [])
    ])
    this.namenode = child
    const address = await firstLine(child.child)
    this.namenodeAddress = address
    this.namenodePort = Number(/\/tcp\/(\d+)/.exec(address)?.[1])
    await mkdir(path.join(this.dir, '.cairn'), { recursive: true })
    await writeFile(this.configFile, JSON.stringify({
      version: 1,
      clusterKey: 'cluster.key',
      namenode: { address, listen }
    }))
  }

  async startDatanode (index: number): Promise<void> {
    const child = this.spawn(`datanode-${index}`, [
      'datanode', '--namenode', this.namenodeAddress, '--cluster-key', this.keyFile, '--data', this.datanodeDir(index),
      '--heartbeat-interval', String(this.options.heartbeatIntervalMs), '--reserved', '0',
      ...(this.options.datanodeArgs?.(index) ?? [])
    ])
    this.datanodes[index] = child
  }

  /** Stops a datanode: SIGTERM for a clean stop, SIGKILL for a crash. */
  async stopDatanode (index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.datanodes[index]
    if (proc === undefined) return
    proc.child.kill(signal)
    await proc.exited
    this.datanodes[index] = undefined
  }

  async killNamenode (): Promise<void> {
    if (this.namenode === undefined) return
    this.namenode.child.kill('SIGKILL')
    await this.namenode.exited
    this.namenode = undefined
  }

  /** `cairn report --json`, as an operator's script would read it. */
  async report (): Promise<ClusterReport> {
    return JSON.parse((await this.cairn(['report', '--json'])).stdout.toString()) as ClusterReport
  }

  async client (): Promise<CairnClient> {
    return await CairnClient.connect({ namenode: this.namenodeAddress, clusterKey: await readClusterKey(this.keyFile) })
  }

  /** Waits until the namenode sees `count` live datanodes. */
  async waitForLive (count: number, timeoutMs = 60_000): Promise<void> {
    await this.waitFor(async (client) => {
      const report = await client.report()
      const live = report.datanodes.filter((d) => d.state === 'live')
      if (live.length === count) {
        for (const d of live) if (!this.datanodeIds.includes(d.id)) this.datanodeIds.push(d.id)
        return true
      }
      return false
    }, `${count} live datanodes`, timeoutMs)
  }

  /** Polls `check` with a fresh client until it returns true. */
  async waitFor (check: (client: CairnClient) => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    while (Date.now() < deadline) {
      try {
        const client = await this.client()
        try {
          if (await check(client)) return
        } finally {
          await client.close()
        }
      } catch (err) {
        last = err
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${(last as Error).message}`}\n${await this.logTail()}`)
  }

  /** The last lines each service logged: the first thing to read when a test times out. */
  async logTail (lines = 15): Promise<string> {
    const { readdir, readFile } = await import('node:fs/promises')
    const out: string[] = []
    for (const file of (await readdir(this.dir).catch(() => [] as string[])).filter((f) => f.endsWith('.log')).sort()) {
      const text = await readFile(path.join(this.dir, file), 'utf8').catch(() => '')
      out.push(`--- ${file}`, ...text.trimEnd().split('\n').slice(-lines))
    }
    return out.join('\n')
  }

  async stop (): Promise<void> {
    const all = [this.namenode, ...this.datanodes].filter((p): p is Proc => p !== undefined)
    for (const p of all) p.child.kill('SIGKILL')
    await Promise.all(all.map(async (p) => { await p.exited }))
    await rm(this.dir, { recursive: true, force: true })
  }

  private spawn (name: string, args: string[]): Proc {
    const log = createWriteStream(path.join(this.dir, `${name}.log`), { flags: 'a' })
    // as `cairn up` starts its services
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, MAIN, ...args], {
      cwd: this.dir,
      env: { ...process.env, CAIRN_LOG: process.env.CAIRN_LOG ?? 'info' },
      // an IPC channel, as `cairn up` gives its services: when the test process dies
      // (a timeout, a crash) the channel closes and the service stops instead of lingering
      stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    })
    child.channel?.unref()
    child.stderr?.pipe(log)
    const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
    return { child, exited }
  }
}

async function firstLine (child: ChildProcess): Promise<string> {
  return await new Promise((resolve, reject) => {
    let text = ''
    let errors = ''
    child.stderr?.on('data', (d: Buffer) => { errors = (errors + d.toString()).slice(-2000) })
    const timer = setTimeout(() => { reject(new Error('the service printed no address within 20 s')) }, 20_000)
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString()
      const newline = text.indexOf('\n')
      if (newline >= 0) {
        clearTimeout(timer)
        resolve(text.slice(0, newline).trim())
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the service exited with code ${code ?? '?'} before printing its address:\n${errors}`)) })
  })
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function until (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  throw new Error(`timed out waiting for ${what}`)
}
