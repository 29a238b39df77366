import { Command, CommanderError } from 'commander'
import { VERSION } from '../core/index.ts'
import { registerCat } from './commands/cat.ts'
import { registerDatanode } from './commands/datanode.ts'
import { registerGet } from './commands/get.ts'
import { registerLs } from './commands/ls.ts'
import { registerNamenode } from './commands/namenode.ts'
import { registerPin } from './commands/pin.ts'
import { registerPut } from './commands/put.ts'
import { registerReport } from './commands/report.ts'
import { registerStat } from './commands/stat.ts'
import { registerUp } from './commands/up.ts'
import { registerConfig } from './commands/config.ts'
import { EXIT, exitCodeOf, printError } from './support/errors.ts'

/** Builds the command tree; exported so tests can inspect it. */
export function buildProgram (): Command {
  const program = new Command('cairn')
    .description('Cairn: a content-addressed distributed filesystem (IPFS addressing, HDFS-style replication)')
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'cluster configuration (default: .cairn/config.json here or in a parent directory, then ~/.cairn)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => { write(`cairn: ${text.replace(/^error: /, 'error: ')}`) }
    })

  registerUp(program)
  registerPut(program)
  registerGet(program)
  registerCat(program)
  registerLs(program)
  registerStat(program)
  registerPin(program)
  registerReport(program)
  registerNamenode(program)
  registerDatanode(program)
  registerConfig(program)
  for (const command of program.commands) command.exitOverride()
  return program
}

export async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not errors; everything else commander rejects is usage
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage
    }
    printError(err)
    return exitCodeOf(err)
  }
}

/**
 * Runs the command line and exits. Exiting explicitly (after stdout has
 * drained into its pipe) keeps a command from lingering on a library's
 * stray timer once its work is done.
 */
export async function run (): Promise<never> {
  const code = await main(process.argv.slice(2))
  await new Promise<void>((resolve) => {
    if (process.stdout.destroyed || process.stdout.writableLength === 0) { resolve(); return }
    process.stdout.write('', () => { resolve() })
  })
  process.exit(code)
}

if (import.meta.main) await run()
