import path from 'node:path'
import { createInterface } from 'node:readline'
import { cliEntry, nodeFlagsFor } from '../../cli/launch.js'
import { alive, killGroup, onCleanup } from './lifetime.ts'
import { treeCpuSeconds } from './proc.ts'
import { closed, ROOT, runNode, spawnNode, TailBuffer } from './spawn.ts'
import type { ChildRun } from './spawn.ts'

/** What the `cairn` command runs: the bundle when it is fresh, else the sources. */
export const CLI = cliEntry()

/** Starts `cairn <args>` as the `cairn` command would: from CLI, with the Node options it gives that command. */
export function spawnCairn (args: string[], init: { graceful?: boolean } = {}): ReturnType<typeof spawnNode> {
  return spawnNode(CLI, args, { ...init, nodeFlags: nodeFlagsFor(args) })
}
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 30_000

export interface Cluster {
  dataDir: string
  configFile: string
  /** Runs `cairn --config <this cluster> ...args` to completion. */
  cli: (args: string[], timeoutMs: number) => Promise<ChildRun>
  /** CPU seconds used so far by `cairn up`, its namenode and its datanodes. */
  cpuSeconds: () => number | undefined
  /** Ctrl-C, as a user stops it; SIGKILL to the whole group if it hangs. */
  stop: () => Promise<void>
}

/** A real local cluster, started as a user would: `cairn up` in the background. */
export async function startCluster (dataDir: string, datanodes: number): Promise<Cluster> {
  const child = spawnCairn(['up', '--data', dataDir, '--datanodes', String(datanodes)], { graceful: true })
  const output = new TailBuffer()
  child.stderr.on('data', (chunk: Buffer) => { output.add(chunk) })
  const lines = createInterface({ input: child.stdout })
  const done = closed(child)

  let ready = false
  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      if (alive(child)) {
        // before it is up, `cairn up` has no Ctrl-C handler yet and would die leaving its services behind
        if (ready) child.kill('SIGINT')
        else killGroup(child, 'SIGKILL')
        const timer = setTimeout(() => { killGroup(child, 'SIGKILL') }, STOP_TIMEOUT_MS)
        await done.catch(() => {})
        clearTimeout(timer)
      }
      // whatever `cairn up` left behind if it died badly
      killGroup(child, 'SIGKILL')
    })()
    await stopping
  }
  onCleanup(stop)

  // stdout keeps being read after the ready line: a full pipe would block `cairn up`
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`cairn up did not print "Cairn is up" within ${READY_TIMEOUT_MS / 1000} s\n${output.text()}`))
    }, READY_TIMEOUT_MS)
    lines.on('line', (line) => {
      output.add(`${line}\n`)
      if (line.startsWith('Cairn is up')) { ready = true; clearTimeout(timer); resolve() }
    })
    done.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`cairn up exited (${signal ?? `code ${code ?? '?'}`}) before the cluster was up\n${output.text()}`))
    }, (err: unknown) => { clearTimeout(timer); reject(err as Error) })
  }).catch(async (err: unknown) => {
    await stop()
    throw err
  })

  const configFile = path.join(dataDir, 'config.json')
  return {
    dataDir,
    configFile,
    cli: async (args, timeoutMs) => await runNode(CLI, ['--config', configFile, ...args], { label: `cairn ${args.join(' ')}`, timeoutMs, nodeFlags: nodeFlagsFor(args) }),
    cpuSeconds: () => child.pid === undefined ? undefined : treeCpuSeconds(child.pid),
    stop
  }
}
