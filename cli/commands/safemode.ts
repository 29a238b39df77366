import type { Command } from 'commander'
import { InvalidArgumentError } from '../../core/index.ts'
import type { SafeModeStatus } from '../../core/index.ts'
import { withClient } from '../support/client.ts'
import { printJson } from '../support/output.ts'

export function registerSafemode (program: Command): void {
  program.command('safemode')
    .description('show, enter or leave the namenode\'s safe mode (no repairs or deletions while on)')
    .argument('[action]', 'status, enter or leave', 'status')
    .option('--json', 'print as JSON')
    .action(async (action: string, flags: { json?: boolean }, command: Command) => {
      if (!['status', 'enter', 'leave'].includes(action)) {
        throw new InvalidArgumentError(`unknown safe mode action "${action}"`, { hint: 'use status, enter or leave' })
      }
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const status = await client.namenode.call<SafeModeStatus>('nn.safemode', { action }, signal)
        if (flags.json === true) printJson(status)
        else process.stdout.write(`safe mode is ${status.on ? 'ON' : 'OFF'}: ${status.reason}\n`)
      })
    })
}
