import type { Command } from 'commander'
import { formatBytes } from '../../core/index.ts'
import { cidArg } from '../support/args.ts'
import { withClient } from '../support/client.ts'
import { formatTable, printJson } from '../support/output.ts'

export function registerPin (program: Command): void {
  const pin = program.command('pin').description('list and remove pins (what the cluster keeps, and how many copies)')

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
