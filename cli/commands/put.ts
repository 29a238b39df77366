import path from 'node:path'
import type { Command } from 'commander'
import type { ImportCandidate } from 'ipfs-unixfs-importer'
import { formatBytes, localSource, measureLocal, PROFILES } from '../../core/index.ts'
import type { PutResult } from '../../core/index.ts'
import { profileArg, replicationArg } from '../support/args.ts'
import { stdinUntil, withClient } from '../support/client.ts'
import { plural, printJson } from '../support/output.ts'
import { Progress } from '../support/progress.ts'

interface PutFlags {
  replication?: number
  profile?: string
  quiet?: boolean
  json?: boolean
  name?: string
}

export function registerPut (program: Command): void {
  program.command('put')
    .description('store a file, a directory tree, or stdin (-); prints the root CID once every block has its copies and the pin is committed')
    .argument('<path>', 'file or directory to store, or - for standard input')
    .option('-r, --replication <n>', 'copies of every block (default: the cluster\'s, 3)', replicationArg)
    .option('--profile <name>', `CID profile: ${Object.keys(PROFILES).join(' or ')} (default unixfs-v1-2025)`, profileArg)
    .option('-n, --name <label>', 'label shown by `pin ls` (default: the file name)')
    .option('-q, --quiet', 'print only the CID: no progress, no summary')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  cairn put photo.jpg
  cairn put -r 2 ./website
  tar c logs | cairn put - --name logs.tar`)
    .action(async (target: string, flags: PutFlags, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const fromStdin = target === '-'
        const quiet = flags.quiet === true || flags.json === true
        const showProgress = !quiet && process.stderr.isTTY === true
        // the size is for the progress bar's ETA only: not walked when there is no bar
        const size = fromStdin || !showProgress ? { bytes: 0, known: false, files: 1 } : await measureLocal(target)
        const progress = new Progress({ label: 'put', ...(size.known ? { total: size.bytes } : {}), enabled: showProgress })
        const source: Iterable<ImportCandidate> | AsyncIterable<ImportCandidate> = fromStdin
          ? [{ content: stdinUntil(signal) }]
          : localSource(target, { signal, onSkip: (file, why) => { if (!quiet) process.stderr.write(`cairn: skipped ${file}: ${why}\n`) } })
        let result: PutResult
        try {
          result = await client.put(source, {
            replication: flags.replication ?? settings.replication,
            profile: (flags.profile ?? settings.profile) as typeof settings.profile,
            label: flags.name ?? (fromStdin ? 'stdin' : path.basename(path.resolve(target))),
            signal,
            onStored: (bytes) => { progress.add(bytes) },
            onWarning: (message) => { if (!quiet || flags.json === true) process.stderr.write(`cairn: warning: ${message}\n`) }
          })
        } finally {
          progress.done()
        }
        if (flags.json === true) {
          printJson({ ...result, seconds: progress.elapsedMs / 1000, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })
          return
        }
        process.stdout.write(`${result.root.toString()}\n`)
        if (!quiet && process.stderr.isTTY === true) {
          const rate = `${formatBytes(result.blockBytes * 1000 / Math.max(1, progress.elapsedMs))}/s`
          process.stderr.write(`stored ${formatBytes(result.blockBytes)} in ${plural(result.blocks, 'block')} with ${plural(result.copies, 'copy', 'copies')} each (${rate})\n`)
        }
      })
    })
}
