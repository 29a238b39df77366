import {
  InvalidArgumentError, asCids, asInteger, asIntegers, asObject, asOptionalString, asString, asStrings
} from '../core/index.ts'
import type {
  DatanodeAddress, DatanodeUsage, Handlers, HeartbeatResult, RegisterParams, RegisterResult, ReportResult
} from '../core/index.ts'
import type { Leases } from './leases.ts'
import type { ReplicationMonitor } from './replication.ts'
import { FLAG_CORRUPT_SEEN } from './state.ts'
import type { NamenodeState } from './state.ts'

export interface DatanodeHandlerOptions {
  heartbeatIntervalMs: number
  monitor: ReplicationMonitor
  leases: Leases
}

/**
 * The namenode's side of the datanode protocol. Block locations come only
 * from here: a full report when a datanode registers, incremental reports
 * as blocks arrive or go.
 */
export function datanodeHandlers (state: NamenodeState, options: DatanodeHandlerOptions): Handlers {
  const { monitor, leases } = options
  const arrived = (mh: Uint8Array, size: number, datanode: number): void => {
    state.blocks.addReplica(mh, size, datanode)
    monitor.replicaAdded(mh, datanode)
    // a put or pin is using this block again: gc's order no longer stands
    if (monitor.isCondemned(mh) && ((state.blocks.get(mh)?.want ?? 0) > 0 || leases.protects(mh))) monitor.pardon(mh)
  }
  return {
    'dn.register': (raw: unknown): RegisterResult => {
      const params = parseRegister(raw)
      const { record, isNew } = state.registry.register(params)
      state.store.putDatanode(state.registry.persisted(record))
      state.log.info(`datanode ${record.id} ${isNew ? 'joined' : 'registered'} (${params.blocks} blocks, ${record.addrs[0] ?? 'no address'})`)
      return { namenodeId: state.id, heartbeatIntervalMs: options.heartbeatIntervalMs }
    },

    'dn.heartbeat': (raw: unknown): HeartbeatResult => {
      const p = asObject(raw)
      const id = asString(p.id, 'id')
      const record = state.registry.heartbeat(id, parseUsage(p), asInteger(p.activeTransfers ?? 0, 'activeTransfers'))
      return { reregister: record === undefined, commands: record === undefined ? [] : monitor.takeCommands(record.index) }
    },

    'dn.report': (raw: unknown): null => {
      const p = asObject(raw)
      const record = known(state, asString(p.id, 'id'))
      const part = asInteger(p.part, 'part')
      const cids = asCids(p.cids)
      const sizes = asIntegers(p.sizes, 'sizes', cids.length)
      // a full report replaces what the map held for this datanode
      if (part === 0) state.blocks.dropDatanode(record.index)
      cids.forEach((cid, i) => { state.blocks.addReplica(cid.multihash.bytes, sizes[i] as number, record.index) })
      if (p.last === true) {
        monitor.rescan()
        state.log.debug(`datanode ${record.id} reported ${record.usage.blocks} blocks`)
      }
      return null
    },

    // a datanode with free transfer slots asks for work instead of waiting for its heartbeat
    'dn.poll': (raw: unknown): ReportResult => {
      const record = known(state, asString(asObject(raw).id, 'id'))
      return { commands: monitor.takeCommands(record.index) }
    },

    'dn.received': (raw: unknown): ReportResult => {
      const p = asObject(raw)
      const record = known(state, asString(p.id, 'id'))
      const cids = asCids(p.cids)
      const sizes = asIntegers(p.sizes, 'sizes', cids.length)
      cids.forEach((cid, i) => { arrived(cid.multihash.bytes, sizes[i] as number, record.index) })
      return { commands: monitor.takeCommands(record.index) }
    },

    'dn.deleted': (raw: unknown): ReportResult => {
      const p = asObject(raw)
      const record = known(state, asString(p.id, 'id'))
      for (const cid of asCids(p.cids)) {
        state.blocks.removeReplica(cid.multihash.bytes, record.index)
        monitor.replicaRemoved(cid.multihash.bytes, record.index)
      }
      return { commands: monitor.takeCommands(record.index) }
    },

    'dn.corrupt': (raw: unknown): ReportResult => {
      const p = asObject(raw)
      const record = known(state, asString(p.id, 'id'))
      for (const cid of asCids(p.cids)) {
        const mh = cid.multihash.bytes
        const info = state.blocks.get(mh)
        state.blocks.removeReplica(mh, record.index)
        // the flag outlives the copy: fsck calls a block with no good copy left corrupt, not just missing
        if (info !== undefined && (info.want > 0 || info.replicas.length > 1)) state.blocks.setFlags(mh, info.flags | FLAG_CORRUPT_SEEN)
        monitor.replicaRemoved(mh, record.index)
        state.log.warn(`datanode ${record.id} found its copy of ${cid} corrupt and set it aside; copying the block from a good copy`)
      }
      return { commands: monitor.takeCommands(record.index) }
    }
  }
}

function known (state: NamenodeState, id: string): NonNullable<ReturnType<NamenodeState['registry']['get']>> {
  const record = state.registry.get(id)
  if (record?.lastContactMs === undefined) {
    throw new InvalidArgumentError(`datanode ${id} has not registered`, { hint: 'the datanode registers again by itself' })
  }
  return record
}

function parseUsage (p: Record<string, unknown>): DatanodeUsage {
  return {
    capacityBytes: asInteger(p.capacityBytes, 'capacityBytes'),
    availableBytes: asInteger(p.availableBytes, 'availableBytes'),
    usedBytes: asInteger(p.usedBytes, 'usedBytes'),
    blocks: asInteger(p.blocks, 'blocks')
  }
}

function parseRegister (raw: unknown): RegisterParams {
  const p = asObject(raw)
  const dn = asObject(p.datanode, 'datanode')
  const datanode: DatanodeAddress = { id: asString(dn.id, 'datanode.id'), addrs: asStrings(dn.addrs, 'datanode.addrs') }
  if (dn.data !== undefined && dn.data !== null) {
    const data = asObject(dn.data, 'datanode.data')
    datanode.data = { host: asString(data.host, 'datanode.data.host'), port: asInteger(data.port, 'datanode.data.port', 1, 65535) }
  }
  const params: RegisterParams = { datanode, version: asString(p.version, 'version'), ...parseUsage(p) }
  const rack = asOptionalString(p.rack, 'rack')
  if (rack !== undefined) params.rack = rack
  return params
}
