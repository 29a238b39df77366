import type { Command } from 'commander'
import { formatBytes, parseCid, shortId } from '../../core/index.ts'
import type { FsckParams, FsckResult } from '../../core/index.ts'
import { EXIT } from '../support/errors.ts'
import { withClient } from '../support/client.ts'
import { expandKeyNames, keystoreOf } from '../support/paths.ts'
import { formatTable, plural, printJson } from '../support/output.ts'

export function registerFsck (program: Command): void {
  program.command('fsck')
    .description('check replication health block by block: per pin and in total; exits non-zero when data is lost')
    .argument('[target]', 'a pin (its root CID or label), a name (/ipns/<name>, k51..., or a key\'s name), or any CID in the cluster; default: every pin and name')
    .option('--problems <n>', 'list at most this many problem blocks (default 100)', (v) => Number(v))
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Statuses: HEALTHY (every block has a readable copy; under- and over-replicated
blocks are listed and being repaired), CORRUPT (some block has no good copy:
exit code 5).

Examples:
  cairn fsck
  cairn fsck bafybei... --json`)
    .action(async (target: string | undefined, flags: { problems?: number, json?: boolean }, command: Command) => {
      const params: FsckParams = { maxProblems: flags.problems ?? 100 }
      await withClient(command.optsWithGlobals(), async ({ client, settings, signal }) => {
        if (target !== undefined) {
          const keystore = keystoreOf(settings)
          const isKey = await keystore.info(target).then(() => true, () => false)
          if (target.startsWith('/ipns/') || target.startsWith('k51') || isKey) {
            // a name: check what it points to now
            const where = await client.resolve(await expandKeyNames(target.startsWith('/ipns/') ? target : `/ipns/${target}`, keystore), signal)
            params.root = where.root
          } else if (/^(Qm|baf|bag|bah)/.test(target) || target.startsWith('/ipfs/')) {
            params.root = parseCid(target.replace(/^\/ipfs\//, '').split('/')[0] as string)
          } else {
            params.label = target
          }
        }
        const result = await client.namenode.call<FsckResult>('nn.fsck', params, signal)
        if (flags.json === true) printJson(result)
        else process.stdout.write(renderFsck(result))
        if (result.status !== 'HEALTHY') process.exitCode = EXIT.integrity
      })
    })
}

function renderFsck (r: FsckResult): string {
  const lines: string[] = []
  for (const pin of r.pins) {
    const issues = [
      pin.underReplicated > 0 ? `${pin.underReplicated} under-replicated` : '',
      pin.overReplicated > 0 ? `${pin.overReplicated} over-replicated` : '',
      pin.misplaced > 0 ? `${pin.misplaced} mis-placed` : '',
      pin.corrupt > 0 ? `${pin.corrupt} corrupt` : '',
      pin.missing > 0 ? `${pin.missing} missing` : ''
    ].filter((s) => s !== '').join(', ')
    lines.push(`${pin.root.toString()}${pin.label === undefined ? '' : ` (${pin.label})`}: ${plural(pin.blocks, 'block')}, ${formatBytes(pin.bytes)}, ${pin.replication} copies wanted: ${pin.status}${issues === '' ? '' : ` (${issues})`}`)
  }
  if (r.problems.length > 0) {
    lines.push('', 'Problem blocks:')
    lines.push(formatTable(r.problems.map((p) => [p.cid.toString(), p.health, `${p.copies} of ${p.want} copies`, p.datanodes.map(shortId).join(', ') || 'no copy'])))
  }
  const t = r.total
  lines.push('', formatTable([
    ['Pins', String(r.pins.length)],
    ['Blocks', `${t.blocks.toLocaleString('en-US')} (${formatBytes(t.bytes)})`],
    ['Healthy', String(t.healthy)],
    ['Under-replicated', String(t.underReplicated)],
    ['Over-replicated', String(t.overReplicated)],
    ['Mis-placed', String(t.misplaced)],
    ['Corrupt', String(t.corrupt)],
    ['Missing', String(t.missing)],
    ['Datanodes', `${r.datanodes.live} live, ${r.datanodes.stale} stale, ${r.datanodes.dead} dead${r.datanodes.decommissioning > 0 ? `, ${r.datanodes.decommissioning} decommissioning` : ''}`]
  ]))
  if (r.safeMode) lines.push('', 'Note: the namenode is in safe mode; copies may still be reporting in.')
  lines.push('', `Status: ${r.status}`)
  return `${lines.join('\n')}\n`
}
