import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { MAIN } from '../helpers/cluster.ts'
import type { TestCluster } from '../helpers/cluster.ts'

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
    const child = spawn(process.execPath, [MAIN, '--config', cluster.configFile, 'mount', dir, ...args], {
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
