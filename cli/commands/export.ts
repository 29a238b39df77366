import { open, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import { InvalidArgumentError, exportCar, formatBytes, localError } from '../../core/index.ts'
import { expandKeyNames, keystoreOf, precheckPath } from '../support/paths.ts'
import { withClient } from '../support/client.ts'
import { printJson, writeStdout } from '../support/output.ts'
import { Progress } from '../support/progress.ts'

interface ExportFlags {
  output?: string
  json?: boolean
}

export function registerExport (program: Command): void {
  program.command('export')
    .description('write a DAG as a CAR file (CARv1, blocks in depth-first order, each once)')
    .argument('<cid[/path]>', 'the DAG\'s root: <cid>, <cid>/path, /ipfs/<cid>/path or /ipns/<name>/path')
    .option('-o, --output <file>', 'the CAR file to write (default: standard output, when it is not a terminal)')
    .option('--json', 'with -o: print the root, blocks and bytes as JSON')
    .addHelpText('after', `
Examples:
  cairn export bafybei... -o site.car
  cairn export /ipns/k51.../photos > photos.car
  cairn export bafybei... | ipfs dag import`)
    .action(async (target: string, flags: ExportFlags, command: Command) => {
      precheckPath(target)
      if (flags.output === undefined && process.stdout.isTTY === true) {
        throw new InvalidArgumentError('a CAR is binary; it will not be written to a terminal', { hint: 'pass -o <file.car>, or pipe the output' })
      }
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        const where = await client.resolve(await expandKeyNames(target, keystoreOf(settings)), signal)
        const car = await exportCar(client.context, where, signal)
        if (flags.output === undefined) {
          for await (const chunk of car.stream) {
            if (!await writeStdout(chunk)) return
          }
          return
        }
        const progress = new Progress({ label: 'export', enabled: flags.json !== true && process.stderr.isTTY === true })
        const bytes = await writeAtomically(flags.output, car.stream, (n) => { progress.add(n) })
        progress.done()
        if (flags.json === true) printJson({ root: car.root, path: path.resolve(flags.output), bytes, seconds: progress.elapsedMs / 1000 })
        else if (process.stderr.isTTY === true) process.stderr.write(`saved ${flags.output} (${formatBytes(bytes)}, root ${car.root.toString()})\n`)
      })
    })
}

/** Temp file then rename: an interrupted export never leaves a truncated CAR under the real name. */
async function writeAtomically (out: string, source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): Promise<number> {
  const temp = path.join(path.dirname(out), `.${path.basename(out)}.cairn-${process.pid}.tmp`)
  const handle = await open(temp, 'w', 0o644).catch((err: unknown) => { throw localError(out, err) })
  let bytes = 0
  try {
    for await (const chunk of source) {
      await handle.write(chunk).catch((err: unknown) => { throw localError(out, err) })
      bytes += chunk.byteLength
      onBytes(chunk.byteLength)
    }
    await handle.close()
    await rename(temp, out).catch((err: unknown) => { throw localError(out, err) })
    return bytes
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(temp, { force: true })
    throw err
  }
}
