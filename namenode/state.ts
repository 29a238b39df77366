import type { CID } from 'multiformats/cid'
import type { Logger, PinInfo } from '../core/index.ts'
import type { BlockIndex, BlockInfo } from './block-index.ts'
import type { DagIndex } from './dag-index.ts'
import { sortCopies } from './health.ts'
import type { Copies } from './health.ts'
import type { DatanodeRegistry } from './registry.ts'
import type { WantRecount } from './want-recount.ts'
import type { MetadataStore } from './store.ts'

/**
 * The block table's flags byte. Bit 0: a copy was found corrupt, and the
 * block has not been whole since. Bits 1-3 belong to the replication
 * monitor (the health it last counted the block under), nobody else.
 */
export const FLAG_CORRUPT_SEEN = 1

/** Everything the namenode's handlers work on; built once by the service. */
export interface NamenodeState {
  id: string
  addrs: () => string[]
  startedMs: number
  store: MetadataStore
  registry: DatanodeRegistry
  blocks: BlockIndex
  dag: DagIndex
  /** Pins by their root as CIDv1 string (a v0 and v1 spelling of one root are one pin). */
  pins: Map<string, PinInfo>
  clock: () => number
  log: Logger
  /** Roots that names point to now or did lately (their history), with the names' replication. */
  nameRoots: () => Iterable<{ root: CID, replication: number }>
  /** Some wants may be higher than needed (a pin or name let go); recount before relying on them. */
  wantsStale: boolean
  /** A recount of wants the service is walking a slice per round, if any. */
  recount?: WantRecount | undefined
}

/** Where a block's copies are, sorted by whether they count. */
export function copiesOf (state: NamenodeState, info: BlockInfo | undefined): Copies {
  if (info === undefined) return { good: [], retiring: [], dead: [] }
  return sortCopies(info.replicas, (datanode) => {
    const record = state.registry.at(datanode)
    return record === undefined ? undefined : { state: state.registry.stateOf(record), admin: record.admin, ...(record.rack === undefined ? {} : { rack: record.rack }) }
  })
}

/** Copies that count toward a replication factor. */
export function liveCopies (state: NamenodeState, info: BlockInfo | undefined): number {
  return copiesOf(state, info).good.length
}

/** Copies a client can read (counted ones and those on datanodes being retired). */
export function readableCopies (state: NamenodeState, info: BlockInfo | undefined): number {
  const copies = copiesOf(state, info)
  return copies.good.length + copies.retiring.length
}

export function infoOf (state: NamenodeState, cid: CID): BlockInfo | undefined {
  return state.blocks.get(cid.multihash.bytes)
}
