import type { Command } from 'commander'
import { formatBytes } from '../../core/index.ts'
import { expandKeyNames, keystoreOf, precheckPath } from '../support/paths.ts'
import { withClient } from '../support/client.ts'
import { formatTable, plural, printJson } from '../support/output.ts'

export function registerStat (program: Command): void {
  program.command('stat')
    .description('describe an entry: type, size, and what the cluster holds of it (pin, blocks, copies)')
    .argument('<cid[/path]>', '<cid>, <cid>/path, /ipfs/<cid>/path or /ipns/<name>/path')
    .option('--json', 'print as JSON')
    .action(async (target: string, flags: { json?: boolean }, command: Command) => {
      precheckPath(target)
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const where = await client.resolve(await expandKeyNames(target, keystoreOf(settings)), signal)
        const info = await client.stat(where, signal)
        if (flags.json === true) {
          printJson(info)
          return
        }
        const c = info.cluster
        const rows = [
          ['CID', info.cid.toString()],
          ['Type', info.kind === 'symlink' ? `symlink -> ${info.target ?? ''}` : info.sharded === true ? 'directory (HAMT-sharded)' : info.kind],
          ['Size', `${formatBytes(info.size)} (${info.size.toLocaleString('en-US')} bytes)`],
          ['Blocks', `${plural(c.blocks, 'block')}, ${formatBytes(c.bytes)}${c.complete ? '' : ' (part of the DAG is not indexed)'}`],
          ['Pinned', c.pinned === 'direct' ? `yes, ${c.want} copies wanted` : c.pinned === 'indirect' ? `inside a pinned DAG, ${c.want} copies wanted` : 'no'],
          ['Copies', c.blocks === 0 ? '-' : `${c.minReplicas} to ${c.maxReplicas} per block${c.missing > 0 ? `, ${plural(c.missing, 'block')} with none` : ''}`]
        ]
        if (info.mode !== undefined) rows.push(['Mode', info.mode.toString(8).padStart(4, '0')])
        process.stdout.write(`${formatTable(rows)}\n`)
      })
    })
}
