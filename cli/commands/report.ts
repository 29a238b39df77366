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
  const percent = r.capacityBytes > 0 ? ` (${(r.usedBytes * 100 / r.capacityBytes).toFixed(1)}%)` : ''
  const b = r.blocks
  const summary = formatTable([
    ['Namenode', `${withPeer(r.namenode.addrs[0] ?? '?', r.namenode.id)}  (v${r.namenode.version}, up ${formatDuration(Date.now() - r.namenode.startedMs)})`],
    ['Capacity', formatBytes(r.capacityBytes)],
    ['Used', `${formatBytes(r.usedBytes)}${percent}`],
    ['Available', formatBytes(r.availableBytes)],
    ['Datanodes', `${count('live')} live, ${count('stale')} stale, ${count('dead')} dead`],
    ['Blocks', `${plural(b.total, 'block')}, ${plural(b.replicas, 'copy', 'copies')}`],
    ['At risk', `${plural(b.underReplicated, 'block')} under-replicated, ${plural(b.missing, 'block')} missing`],
    ['Pins', String(r.pins)]
  ])
  const rows = [['DATANODE', 'STATE', 'LAST CONTACT', 'CAPACITY', 'USED', 'AVAILABLE', 'BLOCKS', 'ADDRESS']]
  for (const d of r.datanodes) {
    rows.push([
      shortId(d.id), d.state, d.lastContactMs < 0 ? 'never' : `${formatDuration(d.lastContactMs)} ago`,
      formatBytes(d.capacityBytes), formatBytes(d.usedBytes), formatBytes(d.availableBytes), String(d.blocks),
      d.data === undefined ? (d.addrs[0] ?? '') : `${d.data.host}:${d.data.port}`
    ])
  }
  const health = b.missing > 0 ? 'DATA MISSING' : b.underReplicated > 0 ? 'UNDER-REPLICATED' : 'HEALTHY'
  return `${summary}\n\n${formatTable(rows)}\n\nStatus: ${health}\n`
}

function withPeer (addr: string, id: string): string {
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${id}`
}
