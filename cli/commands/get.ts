import path from 'node:path'
import type { Command } from 'commander'
import { formatBytes, InvalidArgumentError, NotAFileError } from '../../core/index.ts'
import { expandKeyNames, keystoreOf, precheckPath } from '../support/paths.ts'
import { withClient } from '../support/client.ts'
import { plural, printJson, writeStdout } from '../support/output.ts'
import { Progress } from '../support/progress.ts'

interface GetFlags {
  output?: string
  quiet?: boolean
  json?: boolean
}

export function registerGet (program: Command): void {
  program.command('get')
    .description('download a file or directory tree from the cluster to local disk')
    .argument('<cid[/path]>', 'what to fetch: <cid>, <cid>/path, /ipfs/<cid>/path or /ipns/<name>/path')
    .option('-o, --output <path>', 'where to write it (default: the last path segment, or the CID); a file goes inside an existing directory; - for standard output (a file only)')
    .option('-q, --quiet', 'no progress, no summary')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Examples:
  cairn get bafybeig.../photos -o photos
  cairn get /ipfs/bafkrei... -o notes.txt
  cairn get /ipns/self/report.pdf -o - | lpr`)
    .action(async (target: string, flags: GetFlags, command: Command) => {
      precheckPath(target)
      if (flags.output === '-' && flags.json === true) {
        throw new InvalidArgumentError('--json and -o - both write to standard output', { hint: 'write the file somewhere with -o <path> to get the JSON summary' })
      }
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const where = await client.resolve(await expandKeyNames(target, keystoreOf(settings)), signal)
        if (flags.output === '-') {
          // as cat does: the bytes to standard output (curl -o -, wget -O -), never a file named "-"
          try {
            for await (const chunk of client.cat(where, { signal })) if (!await writeStdout(chunk)) return
          } catch (err) {
            if (!(err instanceof NotAFileError)) throw err
            throw new InvalidArgumentError(`${err.message}: only a file can be written to standard output`, {
              hint: 'give -o a local path instead, or stream a directory as a CAR with cairn export'
            })
          }
          return
        }
        const out = flags.output ?? where.segments.at(-1) ?? where.root.toString()
        const quiet = flags.quiet === true || flags.json === true
        let total: number | undefined
        if (!quiet && process.stderr.isTTY === true) {
          const info = await client.stat(where, signal).catch(() => undefined)
          if (info !== undefined && info.kind === 'file') total = info.size
          else if (info !== undefined && info.cluster.bytes > 0) total = info.cluster.bytes
        }
        const progress = new Progress({ label: 'get', ...(total === undefined ? {} : { total }), enabled: !quiet && process.stderr.isTTY === true })
        let result
        try {
          result = await client.get(where, out, { signal, onBytes: (n) => { progress.add(n) } })
        } finally {
          progress.done()
        }
        if (flags.json === true) {
          printJson({ ...result, path: path.resolve(result.path), seconds: progress.elapsedMs / 1000, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })
        } else if (!quiet) {
          const what = result.directories > 0 ? `${plural(result.files, 'file')} in ${plural(result.directories, 'directory', 'directories')}, ` : ''
          process.stderr.write(`saved ${result.path} (${what}${formatBytes(result.bytes)})\n`)
        }
      })
    })
}
