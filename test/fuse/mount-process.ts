import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect } from 'vitest'
import { SERVICE_NODE_FLAGS } from '../../cli/launch.js'
import { MAIN, TestCluster } from '../helpers/cluster.ts'

export const exec = promisify(execFile)

/** A `cairn mount` running in its own process (never in the test's: FUSE calls back into the event loop). */
export class MountProcess {
  readonly dir: string
  readonly child: ChildProcess
  log = ''
  readonly exited: Promise<number | null>

  private constructor (dir: string, child: ChildProcess) {
    this.dir = dir
    this.child = child
    child.stderr?.on('data', (d: Buffer) => { this.log += d.toString() })
    this.exited = new Promise((resolve) => { child.on('exit', (code) => { resolve(code) }) })
  }

  /** `env` is added to the test's own (PREBUILDS_ONLY=1 makes fuse-native load its prebuilt binding). */
  static async start (cluster: TestCluster, dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<MountProcess> {
    // a mount left by a killed process answers ENOTCONN: the directory is there, and cairn mount cleans it up
    await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOTCONN') throw err })
    // with the Node options the `cairn` command starts a mount with
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, MAIN, '--config', cluster.configFile, 'mount', dir, ...args], {
      cwd: cluster.dir,
      env: { ...process.env, CAIRN_LOG: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const mount = new MountProcess(dir, child)
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => { reject(new Error(`mount did not come up in 30 s: ${mount.log}`)) }, 30_000)
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('mounted ')) { clearTimeout(timer); resolve() }
      })
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`mount exited with ${code}: ${mount.log}`)) })
    })
    return mount
  }

  /** SIGTERM: the process publishes, unmounts and exits. */
  async stop (): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, 60_000)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }

  async kill9 (): Promise<void> {
    this.child.kill('SIGKILL')
    await this.exited
  }
}

/** Runs a shell command (bash -c) in its own process, as a user's program would. */
export async function sh (command: string, cwd: string, timeoutMs = 120_000): Promise<{ stdout: string, stderr: string }> {
  return await exec('bash', ['-c', command], { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
}

/** Detaches whatever is left mounted (a failed test must not leave a mount behind). */
export async function forceUnmount (dir: string): Promise<void> {
  await exec('fusermount', ['-uz', dir]).catch(() => {})
}

/** What one file of mount tests shares: its cluster, a work directory, and every mount it started. */
export interface MountSuite {
  readonly cluster: TestCluster
  readonly work: string
  /** Starts a mount that the suite stops (and checks) after the file. */
  mountAt: (dir: string, args?: string[], env?: NodeJS.ProcessEnv) => Promise<MountProcess>
}

/**
 * Registers the setup and teardown of a file of mount tests: a cluster of 2
 * datanodes and a work directory before, and after: every mount stopped
 * (and detached if it will not), the cluster stopped, the directory gone.
 * A mount carries on after an unhandled rejection, but that is a bug: the
 * file fails if any of its mounts logged one.
 */
export function mountSuite (prefix: string): MountSuite {
  let cluster: TestCluster | undefined
  let work: string | undefined
  const mounts: MountProcess[] = []
  beforeAll(async () => {
    cluster = await TestCluster.start({ datanodes: 2 })
    work = await mkdtemp(path.join(tmpdir(), prefix))
  })
  afterAll(async () => {
    for (const m of mounts) {
      await m.stop().catch(() => {})
      await forceUnmount(m.dir)
    }
    await cluster?.stop()
    if (work !== undefined) await rm(work, { recursive: true, force: true })
    for (const m of mounts) expect(m.log).not.toContain('internal error')
  })
  return {
    get cluster () {
      if (cluster === undefined) throw new Error('the suite has not started')
      return cluster
    },
    get work () {
      if (work === undefined) throw new Error('the suite has not started')
      return work
    },
    async mountAt (dir, args = [], env = {}) {
      const m = await MountProcess.start(this.cluster, dir, args, env)
      mounts.push(m)
      return m
    }
  }
}
