import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/**
 * Everything the benchmark leaves behind, undone in one place: on success,
 * on error, on Ctrl-C, and (as a synchronous last resort) on any exit.
 */
const children = new Map<ChildProcess, { graceful: boolean }>()
const tasks: Array<() => Promise<void>> = []
const tempDirs = new Set<string>()
let cleaning: Promise<void> | undefined
let interrupted = false

/**
 * Children are spawned detached (their own process group) so that a kill
 * also reaches what they started (`cairn up` forks the namenode and the
 * datanodes), and so that Ctrl-C reaches only us: we stop them in order.
 */
export function track (child: ChildProcess, init: { graceful?: boolean } = {}): void {
  children.set(child, { graceful: init.graceful === true })
  child.once('exit', () => { children.delete(child) })
}

/** True once Ctrl-C or SIGTERM arrived: failures after that are its echo, not news. */
export function isInterrupted (): boolean {
  return interrupted
}

export function alive (child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/**
 * Signals the child's whole process group. After the leader has exited
 * the group id stays ours while any member lives (Linux does not reuse a
 * pid still in use as a group id), so a sweep right after exit is safe.
 */
export function killGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // ESRCH: the group is gone already
  }
}

/** Runs at cleanup, newest first (so a cluster stops before its directory is removed). */
export function onCleanup (task: () => Promise<void>): void {
  tasks.push(task)
}

export async function makeTempDir (prefix = 'cairn-bench-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  tempDirs.add(dir)
  onCleanup(async () => {
    await rm(dir, { recursive: true, force: true })
    tempDirs.delete(dir)
  })
  return dir
}

export async function cleanup (): Promise<void> {
  cleaning ??= (async () => {
    // a transfer in flight would only fail noisily once the cluster under it stops
    for (const [child, { graceful }] of children) if (!graceful) killGroup(child, 'SIGKILL')
    for (const task of tasks.splice(0).reverse()) {
      try {
        await task()
      } catch (err) {
        process.stderr.write(`bench: cleanup step failed: ${(err as Error).message}\n`)
      }
    }
    for (const child of children.keys()) killGroup(child, 'SIGKILL')
  })()
  await cleaning
}

/** Ctrl-C or SIGTERM: clean up and exit 130; a second one gives up waiting and kills at once. */
export function installExitHandlers (): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`bench: ${signal} again; killing children and exiting\n`)
      process.exit(130)
    }
    interrupted = true
    process.stderr.write(`\nbench: ${signal}; stopping children and removing temporary files (again to force)\n`)
    cleanup().finally(() => { process.exit(130) })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', () => {
    for (const child of children.keys()) killGroup(child, 'SIGKILL')
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  })
}
