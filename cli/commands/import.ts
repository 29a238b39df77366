import type { Command } from 'commander'
import { IncompleteDagError, formatBytes, importCars } from '../../core/index.ts'
import { replicationArg } from '../support/args.ts'
import { withClient } from '../support/client.ts'
import { plural, printJson } from '../support/output.ts'
import { Progress } from '../support/progress.ts'

interface ImportFlags {
  replication?: number
  name?: string
  json?: boolean
}

export function registerImport (program: Command): void {
  program.command('import')
    .description('store the blocks of CAR files (each verified against its CID) and pin their roots; prints the roots')
    .argument('<file.car...>', 'CAR files; blocks missing from one may come from another')
    .option('-r, --replication <n>', 'copies of every block (default: the cluster\'s, 3)', replicationArg)
    .option('-n, --name <label>', 'label shown by `pin ls` (default: the file names)')
    .option('--json', 'print the roots, blocks and what is missing as JSON')
    .addHelpText('after', `
A CAR holding a block whose bytes do not match its CID is refused whole:
nothing is stored or pinned. A root whose DAG misses blocks (in the CARs and
in the cluster) is not pinned: its blocks are stored, the missing ones are
listed, and the command exits with 5; import a CAR with the missing blocks
to complete it.

Examples:
  cairn import site.car
  ipfs dag export bafy... > x.car && cairn import -r 2 x.car`)
    .action(async (files: string[], flags: ImportFlags, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const progress = new Progress({ label: 'import', enabled: flags.json !== true && process.stderr.isTTY === true })
        let result
        try {
          result = await importCars(client.context, files, {
            replication: flags.replication ?? settings.replication,
            ...(flags.name === undefined ? {} : { label: flags.name }),
            signal,
            onStored: (bytes) => { progress.add(bytes) },
            onWarning: (message) => { process.stderr.write(`cairn: warning: ${message}\n`) }
          })
        } finally {
          progress.done()
        }
        if (flags.json === true) printJson({ ...result, seconds: progress.elapsedMs / 1000 })
        else {
          for (const r of result.roots) if (r.pinned) process.stdout.write(`${r.root.toString()}\n`)
          if (process.stderr.isTTY === true) {
            process.stderr.write(`imported ${plural(result.blocks, 'block')} (${formatBytes(result.bytes)}) at replication ${result.replication}\n`)
          }
        }
        const incomplete = result.roots.filter((r) => !r.pinned)
        if (incomplete.length > 0) {
          const first = incomplete[0] as (typeof incomplete)[number]
          const example = first.missing[0] === undefined ? '' : ` (e.g. ${first.missing[0].toString()})`
          throw new IncompleteDagError(`${plural(incomplete.length, 'root')} not pinned because blocks are missing: ${incomplete.map((r) => `${r.root.toString()} lacks ${r.missing.length >= 100 ? '100 or more' : r.missing.length} block(s)`).join('; ')}${example}`, {
            hint: 'the blocks that were present are stored (unpinned, collected by gc after its grace period); import a CAR with the missing blocks to complete and pin the DAG'
          })
        }
      })
    })
}
