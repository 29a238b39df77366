import { InvalidArgumentError, NotFoundError, asCid, asInteger, asObject, asOptionalString } from '../core/index.ts'
import type { BalanceResult, DecommissionResult, FsckParams, FsckResult, GcResult, Handlers, SafeModeStatus } from '../core/index.ts'
import { planBalance } from './balance.ts'
import { fsck } from './fsck.ts'
import { collectGarbage } from './gc.ts'
import type { Leases } from './leases.ts'
import type { DatanodeRecord } from './registry.ts'
import type { ReplicationMonitor } from './replication.ts'
import type { SafeMode } from './safe-mode.ts'
import type { NamenodeState } from './state.ts'

export interface AdminDeps {
  state: NamenodeState
  monitor: ReplicationMonitor
  safeMode: SafeMode
  leases: Leases
  graceMs: number
}

/**
 * Operator commands. They ride the same cluster-keyed connection as
 * everything else: only holders of the cluster key can reach them.
 */
export function adminHandlers (deps: AdminDeps): Handlers {
  const { state, monitor, safeMode } = deps
  return {
    'nn.fsck': async (raw: unknown): Promise<FsckResult> => {
      const p = asObject(raw)
      const params: FsckParams = { maxProblems: asInteger(p.maxProblems ?? 100, 'maxProblems', 0, 100_000) }
      if (p.maxBlocks !== undefined && p.maxBlocks !== null) params.maxBlocks = asInteger(p.maxBlocks, 'maxBlocks', 0, Number.MAX_SAFE_INTEGER)
      if (p.maxPins !== undefined && p.maxPins !== null) params.maxPins = asInteger(p.maxPins, 'maxPins', 0, Number.MAX_SAFE_INTEGER)
      if (p.root !== undefined && p.root !== null) params.root = asCid(p.root, 'root')
      const label = asOptionalString(p.label, 'label')
      if (label !== undefined) params.label = label
      return await fsck(state, params, safeMode.active)
    },

    'nn.decommission': (raw: unknown): DecommissionResult => {
      const record = findDatanode(state, asObject(raw).datanode)
      if (record.admin === 'normal') {
        state.registry.setAdmin(record, 'decommissioning')
        state.store.putDatanode(state.registry.persisted(record))
        monitor.rescan()
        state.log.info(`decommissioning datanode ${record.id}: its blocks get copies elsewhere`)
      }
      return { id: record.id, admin: record.admin, blocksToMove: monitor.toMove.get(record.index) ?? -1 }
    },

    'nn.recommission': (raw: unknown): DecommissionResult => {
      const record = findDatanode(state, asObject(raw).datanode)
      state.registry.setAdmin(record, 'normal')
      state.store.putDatanode(state.registry.persisted(record))
      monitor.rescan()
      state.log.info(`datanode ${record.id} is back in normal service`)
      return { id: record.id, admin: record.admin, blocksToMove: 0 }
    },

    'nn.gc': async (raw: unknown): Promise<GcResult> => await collectGarbage(deps, { dryRun: asObject(raw).dryRun === true }),

    'nn.balance': async (raw: unknown): Promise<BalanceResult> => {
      const p = asObject(raw)
      const thresholdPercent = p.thresholdPercent === undefined ? 10 : Number(p.thresholdPercent)
      if (!Number.isFinite(thresholdPercent) || thresholdPercent < 0 || thresholdPercent > 100) {
        throw new InvalidArgumentError('thresholdPercent must be from 0 to 100')
      }
      const maxBytes = p.maxBytes === undefined ? undefined : asInteger(p.maxBytes, 'maxBytes', 1)
      return await planBalance(state, monitor, { thresholdPercent, ...(maxBytes === undefined ? {} : { maxBytes }) }, safeMode.active)
    },

    'nn.safemode': (raw: unknown): SafeModeStatus => {
      const action = asObject(raw).action
      if (action === 'enter') safeMode.enter()
      else if (action === 'leave') {
        safeMode.leave()
        monitor.rescan()
      } else if (action !== 'status') throw new InvalidArgumentError('action must be status, enter or leave')
      if (action !== 'status') state.log.warn(`safe mode ${action === 'enter' ? 'entered' : 'left'} by an operator`)
      return safeMode.status()
    }
  }
}

function findDatanode (state: NamenodeState, text: unknown): DatanodeRecord {
  if (typeof text !== 'string' || text === '') throw new InvalidArgumentError('name a datanode by its id')
  const matches = state.registry.find(text)
  if (matches.length === 0) throw new NotFoundError(`no datanode ${text}`, { hint: 'cairn report lists datanodes and their ids' })
  if (matches.length > 1) throw new InvalidArgumentError(`"${text}" matches ${matches.length} datanodes`, { hint: 'give more of the id' })
  return matches[0] as DatanodeRecord
}
