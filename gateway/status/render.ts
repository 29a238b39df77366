import { formatBytes } from '../../core/index.ts'
import type { DatanodeReport } from '../../core/index.ts'
import { escapeHtml, page } from '../html.ts'
import type { StatusData } from './data.ts'

export const REFRESH_SECONDS = 5

/** The status page: the cluster like the HDFS NameNode UI, plain HTML and CSS, refreshing itself. */
export function renderStatus (data: StatusData): string {
  const { report } = data
  const live = report.datanodes.filter((d) => d.state === 'live').length
  const usedPct = percent(report.usedBytes, report.capacityBytes)
  const banner = data.risks.length === 0
    ? '<div class="banner ok" role="status">All pinned data has its copies.</div>'
    : `<div class="banner ${data.level}" role="alert">${data.level === 'bad' ? 'Data at risk' : 'Attention'}: ${data.risks.map(escapeHtml).join('; ')}.</div>`
  return page('Cairn cluster status', `<h1>Cluster status</h1>
${banner}
<div class="cards">
<div class="card"><span class="muted">datanodes live</span><b>${live} / ${report.datanodes.length}</b></div>
<div class="card"><span class="muted">used</span><b>${formatBytes(report.usedBytes)}</b><div class="bar" title="${usedPct.toFixed(1)}%"><span style="width:${usedPct.toFixed(1)}%"></span></div><span class="muted">of ${formatBytes(report.capacityBytes)}</span></div>
<div class="card"><span class="muted">blocks (copies)</span><b>${report.blocks.total.toLocaleString('en-US')}</b><span class="muted">${report.blocks.replicas.toLocaleString('en-US')} copies</span></div>
<div class="card"><span class="muted">pins</span><b>${report.pins.toLocaleString('en-US')}</b><span class="muted">${report.blocks.underReplicated} under-replicated, ${report.blocks.missing} missing</span></div>
</div>

<h2>Datanodes</h2>
<div class="table"><table id="datanodes">
<thead><tr><th>datanode</th><th>state</th><th class="num">last contact</th><th class="opt">rack</th><th>used</th><th class="num opt">blocks</th></tr></thead>
<tbody>
${report.datanodes.map(datanodeRow).join('\n') || '<tr><td colspan="6" class="muted">no datanode has registered</td></tr>'}
</tbody></table></div>

<h2>Pins</h2>
<div class="table"><table id="pins">
<thead><tr><th>root</th><th class="opt">label</th><th class="num">copies wanted</th><th class="num opt">blocks</th><th class="num">size</th><th>health</th></tr></thead>
<tbody>
${data.pins.map((p) => `<tr><td class="cid mono"><a href="/ipfs/${p.root}/">${p.root}</a></td><td class="opt">${escapeHtml(p.label ?? '')}</td><td class="num">${p.replication}</td><td class="num opt">${p.blocks.toLocaleString('en-US')}</td><td class="num">${formatBytes(p.bytes)}</td><td>${healthPill(p.health, p)}</td></tr>`).join('\n') || '<tr><td colspan="6" class="muted">nothing is pinned</td></tr>'}
</tbody></table></div>

<h2>Names</h2>
<div class="table"><table id="names">
<thead><tr><th>name</th><th>value</th><th class="num opt">sequence</th><th class="num opt">updated</th></tr></thead>
<tbody>
${data.names.map((n) => `<tr><td class="cid mono"><a href="/ipns/${escapeHtml(n.name)}/">${escapeHtml(n.name)}</a></td><td class="cid mono">${escapeHtml(n.value)}</td><td class="num opt">${n.sequence}</td><td class="num opt">${ago(data.generatedMs - n.updatedMs)}</td></tr>`).join('\n') || '<tr><td colspan="4" class="muted">no names</td></tr>'}
</tbody></table></div>

<p class="muted">Namenode <span class="mono">${escapeHtml(report.namenode.id)}</span>, version ${escapeHtml(report.namenode.version)}, up ${duration(data.generatedMs - report.namenode.startedMs)}${report.safeMode.on ? ', <strong>in safe mode</strong>' : ''}. This page refreshes every ${REFRESH_SECONDS} s; the same data as JSON: <a href="/status.json">/status.json</a>.</p>`, { refreshSeconds: REFRESH_SECONDS })
}

function datanodeRow (d: DatanodeReport): string {
  const pct = percent(d.usedBytes, d.capacityBytes)
  const state = d.state === 'live' ? 'ok' : d.state === 'stale' ? 'warn' : 'bad'
  const admin = d.admin === 'normal' ? '' : ` <span class="pill warn">${escapeHtml(d.admin)}</span>`
  return `<tr class="datanode"><td class="mono" title="${escapeHtml(d.id)}">${escapeHtml(d.id.slice(-10))}</td><td><span class="pill ${state}">${d.state}</span>${admin}</td><td class="num">${d.lastContactMs < 0 ? 'never' : ago(d.lastContactMs)}</td><td class="opt">${escapeHtml(d.rack ?? '')}</td><td><div class="bar" title="${pct.toFixed(1)}%"><span style="width:${pct.toFixed(1)}%"></span></div><span class="muted">${formatBytes(d.usedBytes)} of ${formatBytes(d.capacityBytes)}</span></td><td class="num opt">${d.blocks.toLocaleString('en-US')}</td></tr>`
}

function healthPill (health: string, counts: { underReplicated: number, missing: number, corrupt: number }): string {
  if (health === 'unchecked') return '<span class="pill" title="too many blocks to check on every view: cairn fsck &lt;root&gt; checks it">not checked</span>'
  const cls = health === 'healthy' ? 'ok' : health === 'under-replicated' ? 'warn' : 'bad'
  const detail = health === 'healthy' ? '' : ` (${counts.missing + counts.corrupt + counts.underReplicated} blocks)`
  return `<span class="pill ${cls}">${health}</span><span class="muted">${detail}</span>`
}

function percent (part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.min(100, Math.max(0, 100 * part / whole))
}

function duration (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  if (s < 86_400) return `${(s / 3600).toFixed(1)} h`
  return `${(s / 86_400).toFixed(1)} days`
}

function ago (ms: number): string {
  return `${duration(ms)} ago`
}
