import type { Command } from 'commander'
import { formatBytes } from '../../core/index.ts'
import type { GcResult } from '../../core/index.ts'
import { withClient } from '../support/client.ts'
import { plural, printJson } from '../support/output.ts'

export function registerGc (program: Command): void {
  program.command('gc')
    .description('delete blocks no pin reaches (never one a pin reaches, a put in progress wrote, or a fresh one)')
    .option('--dry-run', 'only count what would be deleted')
    .option('--json', 'print as JSON')
    .action(async (flags: { dryRun?: boolean, json?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const result = await client.namenode.call<GcResult>('nn.gc', { dryRun: flags.dryRun === true }, signal)
        if (flags.json === true) { printJson(result); return }
        const verb = flags.dryRun === true ? 'would delete' : 'deleting'
        process.stdout.write(`gc: ${verb} ${plural(result.blocks, 'unpinned block')} (${formatBytes(result.bytes)}, ${plural(result.copies, 'copy', 'copies')})`)
        process.stdout.write(result.protected > 0 ? `; kept ${plural(result.protected, 'block')} written by puts in progress or too recently\n` : '\n')
      })
    })
}
