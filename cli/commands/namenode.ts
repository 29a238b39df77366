import path from 'node:path'
import type { Command } from 'commander'
import { createLogger, DEFAULT_NAMENODE_PORT } from '../../core/index.ts'
import { Namenode } from '../../namenode/index.ts'
import { countArg, fractionArg } from '../support/args.ts'
import { ensureClusterKey } from '../support/cluster-key.ts'
import { optionalConfig, resolveIn } from '../support/defaults.ts'
import { runUntilStopped } from '../support/service.ts'

interface NamenodeFlags {
  data?: string
  listen?: string[]
  clusterKey?: string
  heartbeatInterval?: number
  staleAfter?: number
  deadAfter?: number
  monitorInterval?: number
  maxTransfers?: number
  safemodeThreshold?: number
  safemodeExtension?: number
  gcGrace?: number
  nameHistory?: number
}

const ms = countArg(1, 24 * 3_600_000)

export function registerNamenode (program: Command): void {
  program.command('namenode')
    .description('run a namenode on its own (cairn up runs one for you); prints its address')
    .option('--data <dir>', 'metadata directory (default: the configuration\'s, or .cairn/namenode)')
    .option('--listen <multiaddr...>', `where to listen (default /ip4/127.0.0.1/tcp/${DEFAULT_NAMENODE_PORT})`)
    .option('--cluster-key <file>', 'cluster key; created if missing (default: the configuration\'s, or <data>/../cluster.key)')
    .option('--heartbeat-interval <ms>', 'heartbeat period told to datanodes', ms)
    .option('--stale-after <ms>', 'silence after which a datanode is stale', ms)
    .option('--dead-after <ms>', 'silence after which a datanode is dead', ms)
    .option('--monitor-interval <ms>', 'how often replication health is checked (default 1000)', ms)
    .option('--max-transfers <n>', 'copies one datanode sends or receives at once (default 16)', countArg(1, 1024))
    .option('--safemode-threshold <fraction>', 'share of pinned blocks that must be reported before leaving safe mode (default 0.999)', fractionArg)
    .option('--safemode-extension <ms>', 'wait after the threshold before leaving safe mode (default 5000)', countArg(0, 3_600_000))
    .option('--gc-grace <ms>', 'gc keeps unpinned blocks first seen this recently (default 600000, 10 min)', countArg(0, 30 * 86_400_000))
    .option('--name-history <n>', 'values kept (and kept pinned) per name (default 100)', countArg(1, 1_000_000))
    .addHelpText('after', `
Example:
  cairn namenode --data /srv/cairn/nn --listen /ip4/0.0.0.0/tcp/4740`)
    .action(async (flags: NamenodeFlags, command: Command) => {
      const loaded = await optionalConfig(command.optsWithGlobals().config)
      const config = loaded?.config
      const data = flags.data !== undefined ? path.resolve(flags.data) : resolveIn(loaded, config?.namenode.data ?? '.cairn/namenode')
      const keyFile = flags.clusterKey !== undefined ? path.resolve(flags.clusterKey) : config !== undefined ? resolveIn(loaded, config.clusterKey) : path.join(path.dirname(data), 'cluster.key')
      const log = createLogger('namenode')
      const { key, created } = await ensureClusterKey(keyFile, true)
      if (created) log.info(`created a new cluster key at ${keyFile}; copy it to every datanode and client machine`)
      const namenode = new Namenode({
        dataDir: data,
        clusterKey: key,
        listen: flags.listen ?? [config?.namenode.listen ?? `/ip4/127.0.0.1/tcp/${DEFAULT_NAMENODE_PORT}`],
        heartbeatIntervalMs: flags.heartbeatInterval ?? config?.heartbeat.intervalMs,
        staleAfterMs: flags.staleAfter ?? config?.heartbeat.staleAfterMs,
        deadAfterMs: flags.deadAfter ?? config?.heartbeat.deadAfterMs,
        ...(flags.monitorInterval === undefined ? {} : { monitorIntervalMs: flags.monitorInterval }),
        ...(flags.maxTransfers === undefined ? {} : { replication: { maxTransfersPerDatanode: flags.maxTransfers } }),
        safeMode: {
          ...(flags.safemodeThreshold === undefined ? {} : { threshold: flags.safemodeThreshold }),
          ...(flags.safemodeExtension === undefined ? {} : { extensionMs: flags.safemodeExtension })
        },
        ...(flags.gcGrace === undefined ? {} : { gcGraceMs: flags.gcGrace }),
        ...(flags.nameHistory === undefined ? {} : { nameHistory: flags.nameHistory }),
        log
      })
      await namenode.start()
      process.stdout.write(`${namenode.address}\n`)
      await runUntilStopped('namenode', namenode, { address: namenode.address })
    })
}
