import { spawn } from 'node:child_process'
import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { killGroup, track } from './lifetime.ts'
import { exitedChildrenCpuSeconds } from './proc.ts'

/** The repository root: children run from here so `node` resolves the project's dependencies. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ChildRun {
  stdout: string
  stderr: string
  /** Spawn to exit, as a user of the command would wait for it. */
  wallSeconds: number
  /** User + system CPU of the child (Linux only). */
  cpuSeconds: number | undefined
}

export interface RunInit {
  /** Shown in errors. */
  label: string
  timeoutMs: number
  /** Node options before the script. Default none. */
  nodeFlags?: readonly string[]
}

/**
 * Runs a .ts script with this Node (so the child gets the same Node 24,
 * whatever `node` is on PATH) and fails with its stderr if it fails.
 */
export async function runNode (script: string, args: string[], init: RunInit): Promise<ChildRun> {
  const cpuBefore = exitedChildrenCpuSeconds()
  const started = performance.now()
  const child = spawnNode(script, args, { nodeFlags: init.nodeFlags ?? [] })
  const stdout: Buffer[] = []
  const stderr = new TailBuffer()
  child.stdout.on('data', (chunk: Buffer) => { stdout.push(chunk) })
  child.stderr.on('data', (chunk: Buffer) => { stderr.add(chunk) })

  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(child, 'SIGKILL')
  }, init.timeoutMs)
  let exitedAt = Number.NaN
  child.once('exit', () => { exitedAt = performance.now() })
  const { code, signal } = await closed(child).finally(() => { clearTimeout(timer) })
  const wallSeconds = (exitedAt - started) / 1000
  const cpuAfter = exitedChildrenCpuSeconds()

  if (timedOut) throw new Error(`${init.label} did not finish within ${init.timeoutMs / 1000} s; killed\n${stderr.text()}`)
  if (code !== 0) throw new Error(`${init.label} failed (${signal ?? `exit code ${code ?? '?'}`})\n${stderr.text()}`)
  return {
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: stderr.text(),
    wallSeconds,
    cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
  }
}

export type NodeChild = ChildProcessByStdio<null, Readable, Readable>

/** A detached, tracked child with stdout and stderr piped: see lifetime.ts for why detached. */
export function spawnNode (script: string, args: string[], init: { graceful?: boolean, nodeFlags?: readonly string[] } = {}): NodeChild {
  const child = spawn(process.execPath, [...(init.nodeFlags ?? []), script, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  track(child, init)
  return child
}

/** Resolves once the child has exited and its output is drained; rejects if it could not be spawned. */
export async function closed (child: NodeChild): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  return await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => { resolve({ code, signal }) })
  })
}

/** The last JSON object a command printed on stdout. */
export function lastJson (run: ChildRun, label: string): Record<string, unknown> {
  const line = run.stdout.trimEnd().split('\n').reverse().find((l) => l.trimStart().startsWith('{'))
  if (line === undefined) throw new Error(`${label} printed no JSON; stdout was:\n${run.stdout}`)
  return JSON.parse(line) as Record<string, unknown>
}

/** Keeps the last lines of a stream, for error messages, without growing with the output. */
export class TailBuffer {
  private readonly max: number
  private data = ''

  constructor (maxChars = 4_000) {
    this.max = maxChars
  }

  add (chunk: Buffer | string): void {
    this.data = (this.data + chunk.toString()).slice(-this.max)
  }

  text (): string {
    return this.data.trimEnd()
  }
}
