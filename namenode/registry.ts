import type { DatanodeAddress, DatanodeReport, DatanodeState, DatanodeUsage, RegisterParams } from '../core/index.ts'
import { livenessOf } from './liveness.ts'
import type { LivenessPolicy } from './liveness.ts'
import type { AdminState, KnownDatanode } from './store.ts'

export interface DatanodeRecord {
  /** Small integer the block map stores instead of the id. */
  index: number
  id: string
  addrs: string[]
  data?: { host: string, port: number }
  rack?: string
  version?: string
  registeredMs: number
  /** Undefined until the datanode registers with this namenode process. */
  lastContactMs?: number
  usage: DatanodeUsage
  activeTransfers: number
  admin: AdminState
}

const EMPTY_USAGE: DatanodeUsage = { capacityBytes: 0, availableBytes: 0, usedBytes: 0, blocks: 0 }

/** Every datanode the namenode knows, live or not, with its latest usage. */
export class DatanodeRegistry {
  private readonly byId = new Map<string, DatanodeRecord>()
  private readonly byIndex: DatanodeRecord[] = []
  private readonly clock: () => number
  private readonly policy: LivenessPolicy

  constructor (clock: () => number, policy: LivenessPolicy) {
    this.clock = clock
    this.policy = policy
  }

  /** Datanodes known from before a restart: dead until they register again. */
  load (known: KnownDatanode[]): void {
    for (const dn of known) {
      const record = this.add(dn.id, dn.registeredMs)
      record.addrs = dn.addrs
      if (dn.data !== undefined) record.data = dn.data
      if (dn.rack !== undefined) record.rack = dn.rack
      record.admin = dn.admin
    }
  }

  register (params: RegisterParams): { record: DatanodeRecord, isNew: boolean } {
    const now = this.clock()
    const existing = this.byId.get(params.datanode.id)
    const record = existing ?? this.add(params.datanode.id, now)
    record.addrs = params.datanode.addrs
    if (params.datanode.data !== undefined) record.data = params.datanode.data
    else delete record.data
    if (params.rack !== undefined) record.rack = params.rack
    else delete record.rack
    record.version = params.version
    record.lastContactMs = now
    record.usage = usageOf(params)
    return { record, isNew: existing === undefined }
  }

  /** Records a heartbeat; undefined when the datanode has not registered with this process. */
  heartbeat (id: string, usage: DatanodeUsage, activeTransfers: number): DatanodeRecord | undefined {
    const record = this.byId.get(id)
    if (record?.lastContactMs === undefined) return undefined
    record.lastContactMs = this.clock()
    record.usage = usageOf(usage)
    record.activeTransfers = activeTransfers
    return record
  }

  get (id: string): DatanodeRecord | undefined {
    return this.byId.get(id)
  }

  at (index: number): DatanodeRecord | undefined {
    return this.byIndex[index]
  }

  all (): DatanodeRecord[] {
    return [...this.byIndex]
  }

  stateOf (record: DatanodeRecord): DatanodeState {
    return livenessOf(record.lastContactMs, this.clock(), this.policy)
  }

  /** Whether copies on this datanode count (live or stale: it may just be slow). */
  holdsCopies (index: number): boolean {
    const record = this.byIndex[index]
    return record !== undefined && this.stateOf(record) !== 'dead'
  }

  live (): DatanodeRecord[] {
    return this.byIndex.filter((r) => this.stateOf(r) === 'live')
  }

  /** Where new copies may go: live and not being retired. */
  writable (): DatanodeRecord[] {
    return this.byIndex.filter((r) => r.admin === 'normal' && this.stateOf(r) === 'live')
  }

  setAdmin (record: DatanodeRecord, admin: AdminState): void {
    record.admin = admin
  }

  /** Finds a datanode by its id or an unambiguous prefix or suffix of it. */
  find (text: string): DatanodeRecord[] {
    const exact = this.byId.get(text)
    if (exact !== undefined) return [exact]
    return this.byIndex.filter((r) => r.id.startsWith(text) || r.id.endsWith(text))
  }

  address (record: DatanodeRecord): DatanodeAddress {
    const address: DatanodeAddress = { id: record.id, addrs: record.addrs }
    if (record.data !== undefined) address.data = record.data
    return address
  }

  report (record: DatanodeRecord): DatanodeReport {
    const report: DatanodeReport = {
      id: record.id,
      addrs: record.addrs,
      state: this.stateOf(record),
      lastContactMs: record.lastContactMs === undefined ? -1 : this.clock() - record.lastContactMs,
      registeredMs: record.registeredMs,
      admin: record.admin,
      ...record.usage
    }
    if (record.data !== undefined) report.data = record.data
    if (record.rack !== undefined) report.rack = record.rack
    return report
  }

  persisted (record: DatanodeRecord): KnownDatanode {
    const known: KnownDatanode = { id: record.id, addrs: record.addrs, registeredMs: record.registeredMs, admin: record.admin }
    if (record.data !== undefined) known.data = record.data
    if (record.rack !== undefined) known.rack = record.rack
    return known
  }

  private add (id: string, registeredMs: number): DatanodeRecord {
    const record: DatanodeRecord = {
      index: this.byIndex.length,
      id,
      addrs: [],
      registeredMs,
      usage: { ...EMPTY_USAGE },
      activeTransfers: 0,
      admin: 'normal'
    }
    this.byId.set(id, record)
    this.byIndex.push(record)
    return record
  }
}

function usageOf (u: DatanodeUsage): DatanodeUsage {
  return { capacityBytes: u.capacityBytes, availableBytes: u.availableBytes, usedBytes: u.usedBytes, blocks: u.blocks }
}
