import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { CairnError } from '../../core/index.ts'
import { SERVICE_NODE_FLAGS } from '../launch.js'
import { cliEntryOfThisProcess } from './entry.ts'

/** Restart delays after a crash, growing so a broken service does not spin. */
const RESTART_MS = [1_000, 2_000, 5_000, 10_000, 30_000]
const STOP_GRACE_MS = 10_000

export class ServiceStartError extends CairnError {
  static override readonly code = 'ERR_SERVICE_START'
  override name = 'ServiceStartError'
}

export interface ChildInit {
  name: string
  args: string[]
  /** Extra environment for the process. */
  env?: Record<string, string>
  logFile: string
  readyTimeoutMs: number
  /** Told about crashes and restarts. */
  onEvent: (message: string) => void
}

/**
 * One Cairn service run by `cairn up` as its own process (a crash or a
 * kill -9 takes down one service, not the cluster), logging to its own
 * file, restarted with backoff if it dies.
 */
export class ServiceProcess {
  readonly init: ChildInit
  private proc: ChildProcess | undefined
  private stopping = false
  private crashes = 0
  ready: Record<string, unknown> = {}

  constructor (init: ChildInit) {
    this.init = init
  }

  get pid (): number | undefined {
    return this.proc?.pid
  }

  /** Starts the process; resolves with its ready message. */
  async start (): Promise<Record<string, unknown>> {
    const log = openSync(this.init.logFile, 'a')
    const execArgv = [...process.execArgv.filter((a) => !SERVICE_NODE_FLAGS.includes(a)), ...SERVICE_NODE_FLAGS]
    const proc = fork(cliEntryOfThisProcess(), this.init.args, { execArgv, stdio: ['ignore', 'ignore', log, 'ipc'], env: { ...process.env, ...this.init.env } })
    closeSync(log)
    this.proc = proc
    proc.on('exit', (code, signal) => { this.onExit(proc, code, signal) })
    this.ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup()
        proc.kill('SIGKILL')
        reject(this.failure(`did not become ready within ${this.init.readyTimeoutMs / 1000} s`))
      }, this.init.readyTimeoutMs)
      const onMessage = (message: unknown): void => {
        const m = message as { event?: string }
        if (m?.event === 'ready') { cleanup(); resolve(m as Record<string, unknown>) }
      }
      const onExit = (code: number | null): void => {
        cleanup()
        reject(this.failure(`exited with code ${code ?? 'none'} while starting`))
      }
      const cleanup = (): void => {
        clearTimeout(timer)
        proc.off('message', onMessage)
        proc.off('exit', onExit)
      }
      proc.on('message', onMessage)
      proc.once('exit', onExit)
    })
    return this.ready
  }

  async stop (): Promise<void> {
    this.stopping = true
    const proc = this.proc
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL') }, STOP_GRACE_MS)
      proc.once('exit', () => { clearTimeout(timer); resolve() })
      proc.kill('SIGTERM')
    })
  }

  private onExit (proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || proc !== this.proc) return
    const delay = RESTART_MS[Math.min(this.crashes, RESTART_MS.length - 1)] as number
    this.crashes++
    this.init.onEvent(`${this.init.name} exited (${signal ?? `code ${code ?? '?'}`}); restarting in ${delay / 1000} s; see ${this.init.logFile}`)
    setTimeout(() => {
      if (this.stopping) return
      this.start().then(() => {
        this.init.onEvent(`${this.init.name} is back`)
      }, (err: unknown) => {
        this.init.onEvent(`${this.init.name} failed to restart: ${(err as Error).message}`)
      })
    }, delay).unref()
  }

  private failure (what: string): ServiceStartError {
    return new ServiceStartError(`${this.init.name} ${what}`, { hint: `its log says:\n${logTail(this.init.logFile)}` })
  }
}

function logTail (file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n')
  } catch {
    return '  (no log)'
  }
}
