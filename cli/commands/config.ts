import type { Command } from 'commander'
import { NoClusterError, configJsonSchema, findConfigFile, loadConfig } from '../../core/index.ts'
import { printJson } from '../support/output.ts'

export function registerConfig (program: Command): void {
  const config = program.command('config').description('show the configuration in use, or its schema')
  config.command('show')
    .description('print the configuration file in use, with defaults filled in')
    .action(async (_flags: unknown, command: Command) => {
      const file = findConfigFile(command.optsWithGlobals().config)
      if (file === undefined) throw new NoClusterError('no configuration found', { hint: 'cairn up creates .cairn/config.json' })
      const loaded = await loadConfig(file)
      process.stderr.write(`# ${loaded.file}\n`)
      printJson(loaded.config)
    })
  config.command('schema')
    .description('print the JSON Schema of the configuration file')
    .action(() => { printJson(configJsonSchema()) })
}
