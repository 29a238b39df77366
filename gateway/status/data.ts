import type { CairnClient, ClusterReport, FsckResult, NameRecord } from '../../core/index.ts'

/** 'unchecked': the page's block budget ran out before this pin (`cairn fsck <root>` checks it). */
export type PinHealth = 'healthy' | 'under-replicated' | 'corrupt' | 'missing' | 'unchecked'

export interface StatusPin {
  root: string
  label?: string
  replication: number
  blocks: number
  bytes: number
  health: PinHealth
  underReplicated: number
  missing: number
  corrupt: number
}

export interface StatusName {
  name: string
  value: string
  sequence: number
  updatedMs: number
}

/** The cluster at a glance: what the status page and /status.json show. */
export interface StatusData {
  generatedMs: number
  report: ClusterReport
  pins: StatusPin[]
  names: StatusName[]
  /** Sentences for the banner; empty when nothing is at risk. */
  risks: string[]
  /** 'bad' when data has no good copy, 'warn' when copies are short or nodes are down. */
  level: 'ok' | 'warn' | 'bad'
}

/** Pins shown at most: a page, not a dump. */
const MAX_PINS = 500
/**
 * Blocks the namenode looks at for the pins' rows, per gathering (about
 * 0.2 s of its time). The banner's totals come from the namenode's own
 * counts instead, which cost nothing to read, so a big cluster's page
 * never walks every block.
 */
const MAX_BLOCKS = 100_000

export async function gatherStatus (client: CairnClient, signal?: AbortSignal): Promise<StatusData> {
  const [report, fsck, names] = await Promise.all([
    client.report(signal),
    client.namenode.call<FsckResult>('nn.fsck', { maxProblems: 0, maxPins: MAX_PINS, maxBlocks: MAX_BLOCKS }, signal),
    client.namenode.names(signal)
  ])
  const pins: StatusPin[] = fsck.pins.map((p) => {
    const pin: StatusPin = {
      root: p.root.toString(),
      replication: p.replication,
      blocks: p.blocks,
      bytes: p.bytes,
      health: p.unchecked === true ? 'unchecked' : p.missing > 0 ? 'missing' : p.corrupt > 0 ? 'corrupt' : p.underReplicated > 0 ? 'under-replicated' : 'healthy',
      underReplicated: p.underReplicated,
      missing: p.missing,
      corrupt: p.corrupt
    }
    if (p.label !== undefined) pin.label = p.label
    return pin
  })
  const risks: string[] = []
  let level: StatusData['level'] = 'ok'
  const lost = report.blocks.missing + report.blocks.corrupt
  if (lost > 0) {
    level = 'bad'
    risks.push(`${lost} pinned block${lost === 1 ? ' has' : 's have'} no good copy: data is lost until a datanode holding ${lost === 1 ? 'it' : 'them'} comes back`)
  }
  const under = report.blocks.underReplicated
  if (under > 0) {
    if (level === 'ok') level = 'warn'
    risks.push(`${under} block${under === 1 ? ' has' : 's have'} fewer copies than wanted; the namenode is copying them`)
  }
  const down = report.datanodes.filter((d) => d.state !== 'live')
  if (down.length > 0) {
    if (level === 'ok') level = 'warn'
    risks.push(`${down.length} datanode${down.length === 1 ? ' is' : 's are'} not live (${down.map((d) => `${d.id.slice(-6)}: ${d.state}`).join(', ')})`)
  }
  if (report.safeMode.on) {
    if (level === 'ok') level = 'warn'
    risks.push(`the namenode is in safe mode: ${report.safeMode.reason}`)
  }
  return {
    generatedMs: Date.now(),
    report,
    pins,
    names: names.map((n: NameRecord) => ({ name: n.name, value: n.value, sequence: Number(n.sequence), updatedMs: n.updatedMs })),
    risks,
    level
  }
}

/**
 * One gathering shared by every request within `maxAgeMs`: a status page
 * left open in many tabs asks the namenode once, not once per tab.
 */
export class StatusCache {
  private readonly client: CairnClient
  private readonly maxAgeMs: number
  private current: { atMs: number, data: Promise<StatusData> } | undefined

  constructor (client: CairnClient, maxAgeMs: number) {
    this.client = client
    this.maxAgeMs = maxAgeMs
  }

  async get (): Promise<StatusData> {
    const now = Date.now()
    if (this.current === undefined || now - this.current.atMs > this.maxAgeMs) {
      const data = gatherStatus(this.client, AbortSignal.timeout(15_000))
      this.current = { atMs: now, data }
      data.catch(() => { if (this.current?.data === data) this.current = undefined })
    }
    return await this.current.data
  }
}
