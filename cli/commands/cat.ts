import type { Command } from 'commander'
import { byteOffsetArg } from '../support/args.ts'
import { expandKeyNames, keystoreOf, precheckPath } from '../support/paths.ts'
import { withClient } from '../support/client.ts'
import { writeStdout } from '../support/output.ts'

interface CatFlags {
  offset?: number
  length?: number
}

export function registerCat (program: Command): void {
  program.command('cat')
    .description('write a file\'s bytes to standard output')
    .argument('<cid[/path]>', 'the file: <cid>, <cid>/path, /ipfs/<cid>/path or /ipns/<name>/path')
    .option('--offset <bytes>', 'start at this byte (default 0)', byteOffsetArg)
    .option('--length <bytes>', 'write at most this many bytes (default: to the end)', byteOffsetArg)
    .addHelpText('after', `
Examples:
  cairn cat bafkrei... > copy.bin
  cairn cat bafybei.../logs/today.log --offset 1MiB --length 4096`)
    .action(async (target: string, flags: CatFlags, command: Command) => {
      precheckPath(target)
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const where = await client.resolve(await expandKeyNames(target, keystoreOf(settings)), signal)
        for await (const chunk of client.cat(where, { signal, ...flags })) {
          // the reader went away (`| head`): stop quietly, as cat does
          if (!await writeStdout(chunk)) return
        }
      })
    })
}
