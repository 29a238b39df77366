import type { Command } from 'commander'
import { formatBytes } from '../../core/index.ts'
import { cidArg, replicationArg } from '../support/args.ts'
import { withClient } from '../support/client.ts'
import { formatTable, plural, printJson } from '../support/output.ts'
import { expandKeyNames, keystoreOf, precheckPath } from '../support/paths.ts'

export function registerPin (program: Command): void {
  const pin = program.command('pin').description('add, list and remove pins (what the cluster keeps, and how many copies)')

  pin.command('add')
    .description('pin content the cluster already holds, or change a pin\'s replication (up or down)')
    .argument('<cid[/path]>', '<cid>, <cid>/path, /ipfs/<cid>/path or /ipns/<name>/path')
    .option('-r, --replication <n>', 'copies of every block (default: the pin\'s current replication, else the cluster\'s, 3)', replicationArg)
    .option('--label <text>', 'a label shown by pin ls (default: the pin\'s current one)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  cairn pin add bafy...                 keep it, at the cluster's replication
  cairn pin add -r 5 /ipns/self/photos  a name's subtree on its own, at 5 copies
  cairn pin add -r 2 bafy...            lower a pin to 2 copies (extras go)`)
    .action(async (target: string, flags: { replication?: number, label?: string, json?: boolean }, command: Command) => {
      precheckPath(target)
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const root = await client.cidOf(await client.resolve(await expandKeyNames(target, keystoreOf(settings)), signal), signal)
        const existing = await client.pinOf(root, signal)
        const replication = flags.replication ?? existing?.replication ?? settings.replication
        const result = await client.pin(root, { replication, signal, ...(flags.label === undefined ? {} : { label: flags.label }) })
        if (flags.json === true) { printJson(result); return }
        process.stdout.write(`pinned ${result.root.toString()}\n`)
        const was = existing === undefined || existing.replication === replication ? '' : ` (was ${existing.replication})`
        process.stderr.write(`${plural(result.blocks, 'block')}, ${formatBytes(result.bytes)}, ${plural(replication, 'copy', 'copies')} wanted${was}; fewest copies now ${result.minReplicas}\n`)
        if (result.liveDatanodes < replication) {
          process.stderr.write(`cairn: warning: only ${plural(result.liveDatanodes, 'live datanode')}: blocks get ${replication} copies once there are ${replication}\n`)
        } else if (result.minReplicas < replication) {
          process.stderr.write('the namenode makes the missing copies in the background (cairn fsck shows progress)\n')
        } else if (result.minReplicas > replication) {
          process.stderr.write('extra copies are removed in the background (within a minute)\n')
        }
      })
    })

  pin.command('ls')
    .description('list pins: root, replication, blocks, size, when, label')
    .option('-q, --quiet', 'print only the root CIDs')
    .option('--json', 'print as JSON')
    .action(async (flags: { quiet?: boolean, json?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const pins = await client.pins(signal)
        if (flags.json === true) { printJson(pins); return }
        if (flags.quiet === true) {
          for (const p of pins) process.stdout.write(`${p.root.toString()}\n`)
          return
        }
        if (pins.length === 0) { process.stderr.write('no pins\n'); return }
        const rows = [['ROOT', 'COPIES', 'BLOCKS', 'SIZE', 'PINNED', 'LABEL']]
        for (const p of pins) {
          rows.push([p.root.toString(), String(p.replication), String(p.blocks), formatBytes(p.bytes), new Date(p.createdMs).toISOString().replace('T', ' ').slice(0, 19), p.label ?? ''])
        }
        process.stdout.write(`${formatTable(rows)}\n`)
      })
    })

  pin.command('rm')
    .description('remove pins; their blocks may then be collected')
    .argument('<cid...>', 'root CIDs to unpin')
    .action(async (roots: string[], _flags: unknown, command: Command) => {
      const cids = roots.map(cidArg)
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        for (const cid of cids) {
          await client.unpin(cid, signal)
          process.stdout.write(`unpinned ${cid.toString()}\n`)
        }
      })
    })
}
