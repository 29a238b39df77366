import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import type { Command } from 'commander'
import {
  AbortedError, CONFIG_FILE, DEFAULT_DATA_DIR, DEFAULT_NAMENODE_PORT, defaultConfig, loadConfig, lockDataDir, makeDirectories, saveConfig, shortId
} from '../../core/index.ts'
import type { CairnConfig } from '../../core/index.ts'
import { countArg, portArg, replicationArg } from '../support/args.ts'
import { ServiceProcess } from '../support/child.ts'
import { ensureClusterKey } from '../support/cluster-key.ts'
import { parseListen } from './gateway.ts'

/**
 * glibc malloc settings for datanodes. Node's TLS (SSL_MODE_RELEASE_BUFFERS)
 * frees and reallocates a read buffer for every 16 KiB record, and glibc
 * hands that memory back to the kernel each time, so each record paid page
 * faults. Keeping freed memory cut datanode user CPU by about a quarter on a
 * 256 MiB put. Harmless elsewhere; set them yourself for a standalone datanode.
 */
const DATANODE_MALLOC: Record<string, string> = {
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(64 * 1024 * 1024),
  MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024)
}

interface UpFlags {
  data?: string
  datanodes?: number
  port?: number
  replication?: number
  /** `host:port` for the gateway, or false for none (`--no-gateway`). */
  gateway?: string | false
}

export function registerUp (program: Command): void {
  program.command('up')
    .description('start a whole local cluster (a namenode and 3 datanodes) and keep it running; Ctrl-C stops it')
    .option('--data <dir>', `where the cluster keeps everything (default ./${DEFAULT_DATA_DIR})`)
    .option('--datanodes <n>', 'how many datanodes (default 3; remembered)', countArg(1, 64))
    .option('--port <port>', `namenode port (default ${DEFAULT_NAMENODE_PORT}, or a free one if taken; remembered)`, portArg)
    .option('--replication <n>', 'default copies per put (default 3; remembered)', replicationArg)
    .option('--gateway <host:port>', 'where the HTTP gateway and status page listen (default 127.0.0.1:8080, or a free port if taken)')
    .option('--no-gateway', 'do not start the HTTP gateway')
    .addHelpText('after', `
Examples:
  cairn up                      # ./.cairn, 3 datanodes
  cairn up --data /tmp/c --datanodes 5
Then, in another terminal in the same directory (or below it):
  cairn put README.md`)
    .action(async (flags: UpFlags) => {
      await up(flags)
    })
}

async function up (flags: UpFlags): Promise<void> {
  const dataDir = path.resolve(flags.data ?? DEFAULT_DATA_DIR)
  const lock = await lockDataDir(dataDir, 'cairn up')
  const say = (line: string): void => { process.stdout.write(`${line}\n`) }
  const services: ServiceProcess[] = []
  let stopping: Promise<void> | undefined
  const stopAll = async (): Promise<void> => {
    stopping ??= (async () => {
      // datanodes first, so none is left reporting to a namenode that is gone
      await Promise.all(services.slice(1).map(async (s) => { await s.stop() }))
      await services[0]?.stop()
      await lock.release()
    })()
    await stopping
  }
  // Ctrl-C is honoured from the first moment: during start-up it stops what has started
  let interrupted = false
  let wake: () => void = () => {}
  const signalled = new Promise<void>((resolve) => { wake = resolve })
  const onSignal = (): void => {
    if (interrupted) return
    interrupted = true
    wake()
    void stopAll()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  try {
    const configFile = path.join(dataDir, CONFIG_FILE)
    const firstRun = !existsSync(configFile)
    const config: CairnConfig = firstRun ? defaultConfig() : (await loadConfig(configFile)).config
    if (flags.datanodes !== undefined) config.datanodes.count = flags.datanodes
    if (flags.replication !== undefined) config.client.replication = flags.replication
    if (flags.port !== undefined) config.namenode.listen = `/ip4/127.0.0.1/tcp/${flags.port}`
    else if (firstRun) config.namenode.listen = `/ip4/127.0.0.1/tcp/${await preferredPort(DEFAULT_NAMENODE_PORT)}`
    delete config.namenode.address
    const keyFile = path.resolve(dataDir, config.clusterKey)
    const { created } = await ensureClusterKey(keyFile, true)
    await saveConfig(dataDir, config)

    const logs = path.join(dataDir, 'logs')
    await makeDirectories(logs)
    const onEvent = (message: string): void => { if (!stopping) process.stderr.write(`cairn up: ${message}\n`) }
    const common = ['--config', configFile, '--cluster-key', keyFile]

    const namenode = new ServiceProcess({
      name: 'namenode',
      args: ['namenode', ...common, '--data', path.resolve(dataDir, config.namenode.data), '--listen', config.namenode.listen],
      logFile: path.join(logs, 'namenode.log'),
      readyTimeoutMs: 30_000,
      onEvent
    })
    services.push(namenode)
    const address = String((await namenode.start()).address)
    if (interrupted) throw new AbortedError('interrupted')
    config.namenode.address = address
    await saveConfig(dataDir, config)

    for (let i = 1; i <= config.datanodes.count; i++) {
      services.push(new ServiceProcess({
        name: `datanode-${i}`,
        args: ['datanode', ...common, '--namenode', address, '--data', path.resolve(dataDir, config.datanodes.data, `datanode-${i}`)],
        logFile: path.join(logs, `datanode-${i}.log`),
        env: DATANODE_MALLOC,
        readyTimeoutMs: 60_000,
        onEvent
      }))
    }
    await Promise.all(services.slice(1).map(async (s) => await s.start()))
    if (interrupted) throw new AbortedError('interrupted')

    let gatewayUrl: string | undefined
    if (flags.gateway !== false) {
      const listen = parseListen(typeof flags.gateway === 'string' ? flags.gateway : undefined)
      if (typeof flags.gateway !== 'string') listen.port = await preferredPort(listen.port)
      const gateway = new ServiceProcess({
        name: 'gateway',
        args: ['gateway', '--config', configFile, '--listen', `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`],
        logFile: path.join(logs, 'gateway.log'),
        readyTimeoutMs: 30_000,
        onEvent
      })
      services.push(gateway)
      gatewayUrl = String((await gateway.start()).url)
      if (interrupted) throw new AbortedError('interrupted')
    }

    say(`Cairn is up: a namenode and ${plural(config.datanodes.count, 'datanode')}, data in ${dataDir}`)
    say(`  namenode   ${address}`)
    say(`  datanodes  ${services.slice(1, 1 + config.datanodes.count).map((s) => shortId(String(s.ready.id))).join(', ')}`)
    if (gatewayUrl !== undefined) say(`  gateway    ${gatewayUrl} (cluster status; /ipfs/<cid>, /ipns/<name>)`)
    // only a directory named .cairn is found by walking up from the working directory (findConfigFile)
    say(path.basename(dataDir) === DEFAULT_DATA_DIR
      ? `  config     ${configFile} (cairn commands in ${path.dirname(dataDir)} and below find it)`
      : `  config     ${configFile} (use it with --config or: export CAIRN_CONFIG=${configFile})`)
    say(`  logs       ${logs}`)
    if (created) say(`  key        ${keyFile} (new; nodes without it cannot join)`)
    say('Try: cairn put <file>  |  cairn report')
    say('Press Ctrl-C to stop.')

    await signalled
    say('stopping...')
    await stopAll()
    say('stopped')
  } catch (err) {
    await stopAll()
    if (interrupted) throw new AbortedError('cairn up was interrupted while starting; everything it started is stopped')
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** The preferred port if free, else any free one (so a second cluster on the machine still starts). */
async function preferredPort (port: number): Promise<number> {
  const tryListen = async (p: number): Promise<number | undefined> => await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(undefined) })
    server.listen(p, '127.0.0.1', () => {
      const address = server.address()
      const chosen = typeof address === 'object' && address !== null ? address.port : p
      server.close(() => { resolve(chosen) })
    })
  })
  return (await tryListen(port)) ?? (await tryListen(0)) ?? port
}

function plural (n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
