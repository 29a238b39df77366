import v8 from 'node:v8'
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
import { registerBalance } from './commands/balance.ts'
import { registerFsck } from './commands/fsck.ts'
import { registerGc } from './commands/gc.ts'
import { registerSafemode } from './commands/safemode.ts'
import { registerKey } from './commands/key.ts'
import { registerName } from './commands/name.ts'
import { registerFiles } from './commands/files.ts'
import { registerMount } from './commands/mount.ts'
import { registerExport } from './commands/export.ts'
import { registerImport } from './commands/import.ts'
import { registerGateway } from './commands/gateway.ts'
import { EXIT, exitCodeOf, printError } from './support/errors.ts'
import { stdoutFailure, watchStdout } from './support/output.ts'
import { tuneMalloc } from '../core/index.ts'
import { SERVICE_COMMANDS, commandName } from './launch.js'

// Services receive blocks in fresh socket buffers that V8 counts as external
// memory; by default it answers every ~14 MiB with a full mark-compact of the
// whole heap (a quarter of a datanode's CPU, measured). Counting external
// memory in the global limit cut that from 18 to 3 per 256 MiB. The mount
// and the gateway read blocks the same way: the mount's CPU for a cold
// 256 MiB read fell from 1.2-1.7 to 1.0-1.3 s, the gateway's for serving
// one from 0.95-1.28 to 0.57-0.95 s, for 60-100 MiB more peak memory (240 ->
// 305-350 MiB). One-shot clients keep the default: there the flag let
// garbage pile up (put peak 239 -> 320 MiB).
const command = commandName(process.argv.slice(2)) ?? ''
if (SERVICE_COMMANDS.has(command)) v8.setFlagsFromString('--external-memory-accounted-in-global-limit')
// long-running processes that receive blocks keep freed memory for the next block (core/util/malloc.ts);
// one-shot commands keep glibc's defaults, and with them their small peak memory
if (command === 'datanode' || command === 'gateway' || command === 'mount') tuneMalloc()

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
  registerKey(program)
  registerName(program)
  registerFiles(program)
  registerMount(program)
  registerExport(program)
  registerImport(program)
  registerGateway(program)
  registerFsck(program)
  registerGc(program)
  registerBalance(program)
  registerSafemode(program)
  registerNamenode(program)
  registerDatanode(program)
  registerConfig(program)
  const override = (command: Command): void => {
    command.exitOverride()
    for (const sub of command.commands) override(sub)
  }
  override(program)
  return program
}

export async function main (argv: string[]): Promise<number> {
  watchStdout()
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
  let code = await main(process.argv.slice(2))
  await new Promise<void>((resolve) => {
    if (process.stdout.destroyed || process.stdout.writableLength === 0) { resolve(); return }
    process.stdout.write('', () => { resolve() })
  })
  // output that failed after the command's last write (the final flush into a full disk)
  const failure = stdoutFailure()
  if (failure !== undefined && code === EXIT.ok) {
    printError(failure)
    code = exitCodeOf(failure)
  }
  process.exit(code)
}

