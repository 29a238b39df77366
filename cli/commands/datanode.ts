import path from 'node:path'
import type { Command } from 'commander'
import { NoClusterError, createLogger } from '../../core/index.ts'
import type { DecommissionResult } from '../../core/index.ts'
import { withClient } from '../support/client.ts'
import { Datanode } from '../../datanode/index.ts'
import { countArg, portArg, sizeArg } from '../support/args.ts'
import { ensureClusterKey } from '../support/cluster-key.ts'
import { optionalConfig, resolveIn } from '../support/defaults.ts'
import { runUntilStopped } from '../support/service.ts'

interface DatanodeFlags {
  namenode?: string
  data?: string
  listen?: string[]
  dataHost?: string
  dataPort?: number
  rack?: string
  clusterKey?: string
  reserved?: number
  heartbeatInterval?: number
  scanRate?: number
  scanInterval?: number
  gcGrace?: number
}

export function registerDatanode (program: Command): void {
  const datanode = program.command('datanode')
    .description('run a datanode on its own (cairn up runs three for you)')
    .option('--namenode <multiaddr>', 'the namenode to join, with /p2p/<id> (default: the configuration\'s)')
    .option('--data <dir>', 'block directory (default .cairn/datanode)')
    .option('--listen <multiaddr...>', 'libp2p listen addresses (default /ip4/127.0.0.1/tcp/0)')
    .option('--data-host <host>', 'host the TLS data channel binds and advertises (default 127.0.0.1)')
    .option('--data-port <port>', 'port of the data channel, 0 for any (default 0)', portArg)
    .option('--rack <label>', 'failure domain (rack, zone); copies go to distinct labels')
    .option('--cluster-key <file>', 'cluster key (default: the configuration\'s)')
    .option('--reserved <size>', 'disk space to leave free, e.g. 10GiB (default 256MiB)', sizeArg)
    .option('--heartbeat-interval <ms>', 'heartbeat period', countArg(100, 3_600_000))
    .option('--scan-rate <bytes>', 'bytes per second the block scanner re-verifies, e.g. 8MiB; 0 turns it off (default 8MiB)', sizeArg)
    .option('--scan-interval <ms>', 'rest between two full passes of the block scanner (default 60000)', countArg(0, 30 * 86_400_000))
    .option('--gc-grace <ms>', 'gc keeps blocks written or sent again this recently (default 900000, 15 min)', countArg(0, 30 * 86_400_000))
    .addHelpText('after', `
Example:
  cairn datanode --namenode /ip4/10.0.0.1/tcp/4740/p2p/12D3KooW... \\
    --data /srv/cairn/dn1 --cluster-key cluster.key`)
    .action(async (flags: DatanodeFlags, command: Command) => {
      const loaded = await optionalConfig(command.optsWithGlobals().config)
      const config = loaded?.config
      const namenode = flags.namenode ?? config?.namenode.address
      if (namenode === undefined) {
        throw new NoClusterError('no namenode to join', { hint: 'pass --namenode <multiaddr> (the namenode prints it when it starts)' })
      }
      if (flags.clusterKey === undefined && config === undefined) {
        throw new NoClusterError('no cluster key', { hint: 'pass --cluster-key <file> with a copy of the namenode\'s cluster.key' })
      }
      const keyFile = flags.clusterKey !== undefined ? path.resolve(flags.clusterKey) : resolveIn(loaded, config?.clusterKey ?? 'cluster.key')
      const { key } = await ensureClusterKey(keyFile, false)
      const log = createLogger('datanode')
      const datanode = new Datanode({
        dataDir: path.resolve(flags.data ?? '.cairn/datanode'),
        namenode,
        clusterKey: key,
        listen: flags.listen ?? ['/ip4/127.0.0.1/tcp/0'],
        dataHost: flags.dataHost ?? config?.datanodes.dataHost ?? '127.0.0.1',
        dataPort: flags.dataPort ?? 0,
        ...(flags.rack === undefined ? {} : { rack: flags.rack }),
        reservedBytes: flags.reserved ?? config?.datanodes.reservedBytes,
        heartbeatIntervalMs: flags.heartbeatInterval ?? config?.heartbeat.intervalMs,
        ...(flags.scanRate === undefined ? {} : { scanBytesPerSec: flags.scanRate }),
        ...(flags.scanInterval === undefined ? {} : { scanRestMs: flags.scanInterval }),
        ...(flags.gcGrace === undefined ? {} : { gcGraceMs: flags.gcGrace }),
        log
      })
      await datanode.start()
      // under `cairn up`, report ready only once the namenode has our blocks
      if (process.send !== undefined) await datanode.registered(60_000).catch(() => {})
      await runUntilStopped('datanode', datanode, { id: datanode.id })
    })

  datanode.command('decommission')
    .description('move a datanode\'s copies elsewhere, then mark it safe to remove (cairn report shows progress)')
    .argument('<id>', 'the datanode\'s id, or an unambiguous part of it (cairn report lists them)')
    .option('--wait', 'wait until it is decommissioned')
    .action(async (id: string, flags: { wait?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        let result = await client.namenode.call<DecommissionResult>('nn.decommission', { datanode: id }, signal)
        while (flags.wait === true && result.admin !== 'decommissioned') {
          await new Promise((resolve) => setTimeout(resolve, 1_000))
          signal.throwIfAborted()
          result = await client.namenode.call<DecommissionResult>('nn.decommission', { datanode: id }, signal)
        }
        const left = result.blocksToMove >= 0 ? ` (${result.blocksToMove} blocks still need copies elsewhere)` : ''
        process.stdout.write(`datanode ${result.id} is ${result.admin}${result.admin === 'decommissioning' ? left : result.admin === 'decommissioned' ? ': safe to remove' : ''}\n`)
      })
    })

  datanode.command('recommission')
    .description('put a decommissioning or decommissioned datanode back in normal service')
    .argument('<id>', 'the datanode\'s id, or an unambiguous part of it')
    .action(async (id: string, _flags: unknown, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const result = await client.namenode.call<DecommissionResult>('nn.recommission', { datanode: id }, signal)
        process.stdout.write(`datanode ${result.id} is back in ${result.admin} service\n`)
      })
    })
}
