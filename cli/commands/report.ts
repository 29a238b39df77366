import type { Command } from 'commander'
import { formatBytes, formatDuration, shortId } from '../../core/index.ts'
import type { ClusterReport } from '../../core/index.ts'
import { withClient } from '../support/client.ts'
import { formatTable, plural, printJson } from '../support/output.ts'

export function registerReport (program: Command): void {
  program.command('report')
    .description('cluster health: capacity, datanodes (live, stale, dead), blocks and copies')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withClient(command.optsWithGlobals(), async ({ client, signal }) => {
        const report = await client.report(signal)
        if (flags.json === true) printJson(report)
        else process.stdout.write(renderReport(report))
      })
    })
}

export function renderReport (r: ClusterReport): string {
  const count = (state: string): number => r.datanodes.filter((d) => d.state === state).length
  const admin = (state: string): number => r.datanodes.filter((d) => d.admin === state).length
  const percent = r.capacityBytes > 0 ? ` (${(r.usedBytes * 100 / r.capacityBytes).toFixed(1)}%)` : ''
  const b = r.blocks
  const retiring = admin('decommissioning') + admin('decommissioned') > 0
    ? `; ${admin('decommissioning')} decommissioning, ${admin('decommissioned')} decommissioned`
    : ''
  const summary = formatTable([
    ['Namenode', `${withPeer(r.namenode.addrs[0] ?? '?', r.namenode.id)}  (v${r.namenode.version}, up ${formatDuration(Date.now() - r.namenode.startedMs)})`],
    ['Safe mode', r.safeMode.on ? `ON: ${r.safeMode.reason}` : 'off'],
    ['Capacity', formatBytes(r.capacityBytes)],
    ['Used', `${formatBytes(r.usedBytes)}${percent}`],
    ['Available', formatBytes(r.availableBytes)],
    ['Datanodes', `${count('live')} live, ${count('stale')} stale, ${count('dead')} dead${retiring}`],
    ['Blocks', `${plural(b.total, 'block')}, ${plural(b.replicas, 'good copy', 'good copies')}; ${b.pinned.toLocaleString('en-US')} pinned`],
    ['At risk', `${b.underReplicated} under-replicated, ${b.corrupt} corrupt, ${b.missing} missing`],
    ['Other', `${b.overReplicated} over-replicated, ${b.misplaced} mis-placed; ${plural(b.pendingCopies, 'copy', 'copies')} in progress`],
    ['Pins', String(r.pins)]
  ])
  const rows = [['DATANODE', 'STATE', 'LAST CONTACT', 'CAPACITY', 'USED', 'AVAILABLE', 'BLOCKS', 'ADDRESS']]
  for (const d of r.datanodes) {
    const state = d.admin === 'normal' ? d.state : `${d.state}, ${d.admin}${d.blocksToMove === undefined || d.admin === 'decommissioned' ? '' : ` (${d.blocksToMove} to move)`}`
    rows.push([
      shortId(d.id), state, d.lastContactMs < 0 ? 'never' : `${formatDuration(d.lastContactMs)} ago`,
      formatBytes(d.capacityBytes), formatBytes(d.usedBytes), formatBytes(d.availableBytes), String(d.blocks),
      d.data === undefined ? (d.addrs[0] ?? '') : `${d.data.host}:${d.data.port}`
    ])
  }
  const health = b.missing + b.corrupt > 0
    ? 'DATA AT RISK: some blocks have no good copy (cairn fsck lists them)'
    : b.underReplicated > 0 ? 'REPAIRING: some blocks are short of copies' : 'HEALTHY'
  return `${summary}\n\n${formatTable(rows)}\n\nStatus: ${health}\n`
}

function withPeer (addr: string, id: string): string {
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${id}`
}
