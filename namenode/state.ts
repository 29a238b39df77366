import type { Logger, PinInfo } from '../core/index.ts'
import type { BlockEntry, BlockMap } from './block-map.ts'
import type { DagIndex } from './dag-index.ts'
import type { DatanodeRegistry } from './registry.ts'
import type { MetadataStore } from './store.ts'

/** Everything the namenode's handlers work on; built once by the service. */
export interface NamenodeState {
  id: string
  addrs: () => string[]
  startedMs: number
  store: MetadataStore
  registry: DatanodeRegistry
  blocks: BlockMap
  dag: DagIndex
  /** Pins by their root as CIDv1 string (a v0 and v1 spelling of one root are one pin). */
  pins: Map<string, PinInfo>
  clock: () => number
  log: Logger
}

/** Copies that count: on datanodes that are not dead. */
export function liveCopies (state: NamenodeState, entry: BlockEntry | undefined): number {
  if (entry === undefined) return 0
  let n = 0
  for (const dn of entry.replicas) if (state.registry.holdsCopies(dn)) n++
  return n
}
