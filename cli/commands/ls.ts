import type { Command } from 'commander'
import { formatBytes } from '../../core/index.ts'
import type { ListedEntry } from '../../core/index.ts'
import { expandKeyNames, keystoreOf, precheckPath } from '../support/paths.ts'
import { withClient } from '../support/client.ts'
import { formatTable, printJson } from '../support/output.ts'

interface LsFlags {
  json?: boolean
  human?: boolean
  resolve?: boolean
}

export function registerLs (program: Command): void {
  program.command('ls')
    .description('list a directory: CID, size and name of each entry (directories end in /)')
    .argument('<cid[/path]>', 'the directory: <cid>, <cid>/path, /ipfs/<cid>/path or /ipns/<name>/path')
    .option('-H, --human', 'sizes in KiB, MiB, ... instead of bytes')
    .option('--no-resolve', 'do not fetch each entry to tell its type and file size (faster on huge directories)')
    .option('--json', 'print entries as JSON')
    .addHelpText('after', `
Examples:
  cairn ls bafybei...
  cairn ls /ipfs/bafybei.../photos -H`)
    .action(async (target: string, flags: LsFlags, command: Command) => {
      precheckPath(target)
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const where = await client.resolve(await expandKeyNames(target, keystoreOf(settings)), signal)
        const entries = await client.ls(where, { signal, resolveTypes: flags.resolve !== false })
        if (flags.json === true) {
          printJson(entries)
          return
        }
        const rows = entries.map((e) => [e.cid.toString(), flags.human === true ? formatBytes(e.size) : String(e.size), display(e)])
        if (rows.length > 0) process.stdout.write(`${formatTable(rows)}\n`)
      })
    })
}

function display (entry: ListedEntry): string {
  if (entry.kind === 'directory') return `${entry.name}/`
  if (entry.kind === 'symlink') return `${entry.name} -> ${entry.target ?? ''}`
  return entry.name
}
