import type { Command } from 'commander'
import { formatBytes, shortId } from '../../core/index.ts'
import type { BalanceResult } from '../../core/index.ts'
import { sizeArg } from '../support/args.ts'
import { withClient } from '../support/client.ts'
import { formatTable, plural, printJson } from '../support/output.ts'

interface BalanceFlags {
  threshold?: number
  max?: number
  wait?: boolean
  json?: boolean
}

export function registerBalance (program: Command): void {
  program.command('balance')
    .description('move copies from fuller to emptier datanodes until each is within a threshold of the mean')
    .option('--threshold <percent>', 'allowed spread in percentage points of capacity used (default 10)', (v) => Number(v))
    .option('--max <size>', 'move at most this much per round (default 10GiB)', sizeArg)
    .option('--wait', 'keep going until balanced and every move is done')
    .option('--json', 'print the last round as JSON')
    .action(async (flags: BalanceFlags, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const params = { thresholdPercent: flags.threshold ?? 10, ...(flags.max === undefined ? {} : { maxBytes: flags.max }) }
        let result = await client.namenode.call<BalanceResult>('nn.balance', params, signal)
        let moved = result.planned
        // each round plans from fresh usage once the last round's moves are done
        while (flags.wait === true && (!result.balanced || result.inFlight > 0)) {
          await new Promise((resolve) => setTimeout(resolve, 1_000))
          signal.throwIfAborted()
          result = await client.namenode.call<BalanceResult>('nn.balance', params, signal)
          moved += result.planned
        }
        if (flags.json === true) { printJson(result); return }
        process.stdout.write(`${formatTable(Object.entries(result.utilization).map(([id, u]) => [shortId(id), `${u.toFixed(4)}% used`]))}\n`)
        process.stdout.write(`planned ${plural(moved, 'move')} (${formatBytes(result.bytes)} this round); ${result.inFlight} in flight; ${result.balanced ? 'balanced' : 'not balanced yet'}\n`)
      })
    })
}
