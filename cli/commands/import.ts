import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import { IncompleteDagError, InvalidArgumentError, formatBytes, importCars } from '../../core/index.ts'
import type { ClientContext } from '../../core/index.ts'
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
    .argument('<file.car...>', 'CAR files (- for standard input); blocks missing from one may come from another')
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
  ipfs dag export bafy... | cairn import -r 2 -`)
    .action(async (files: string[], flags: ImportFlags, command: Command) => {
      if (files.filter((f) => f === '-').length > 1) throw new InvalidArgumentError('standard input (-) can be given only once')
      if (files.includes('-') && process.stdin.isTTY === true) {
        throw new InvalidArgumentError('- reads a CAR from standard input, which is a terminal here', { hint: 'pipe one in: ipfs dag export <cid> | cairn import -' })
      }
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        // a CAR is read twice (every block is verified before any is stored), so standard input goes to a temporary file first
        const spool = files.includes('-') ? await mkdtemp(path.join(tmpdir(), 'cairn-import-')) : undefined
        try {
          if (spool !== undefined) await pipeline(process.stdin, createWriteStream(path.join(spool, 'stdin.car')), { signal })
          const paths = files.map((f) => f === '-' && spool !== undefined ? path.join(spool, 'stdin.car') : f)
          await importAndReport(client.context, paths, flags, settings.replication, signal)
        } finally {
          if (spool !== undefined) await rm(spool, { recursive: true, force: true })
        }
      })
    })
}

async function importAndReport (ctx: ClientContext, files: string[], flags: ImportFlags, defaultReplication: number, signal: AbortSignal): Promise<void> {
  const progress = new Progress({ label: 'import', enabled: flags.json !== true && process.stderr.isTTY === true })
  let result
  try {
    result = await importCars(ctx, files, {
      replication: flags.replication ?? defaultReplication,
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
}
