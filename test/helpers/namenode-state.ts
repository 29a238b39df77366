import { silentLogger } from '../../core/index.ts'
import { BlockTable } from '../../namenode/block-table.ts'
import { DagIndex } from '../../namenode/dag-index.ts'
import { DatanodeRegistry } from '../../namenode/registry.ts'
import type { NamenodeState } from '../../namenode/state.ts'
import { MetadataStore } from '../../namenode/store.ts'

/**
 * A namenode's state with no network around it: a real block table,
 * registry, DAG index and metadata store (in `dir`), read through `clock`.
 * For driving the monitor, fsck and the like by hand; close `store` after.
 */
export function offlineState (dir: string, clock: () => number, init: { hashSeed?: number } = {}): NamenodeState {
  return {
    id: 'nn',
    addrs: () => [],
    startedMs: clock(),
    store: new MetadataStore(dir),
    registry: new DatanodeRegistry(clock, { staleAfterMs: 10_000, deadAfterMs: 30_000 }),
    blocks: new BlockTable({ clock, ...(init.hashSeed === undefined ? {} : { hashSeed: init.hashSeed }) }),
    dag: new DagIndex(),
    pins: new Map(),
    clock,
    log: silentLogger,
    nameRoots: () => [],
    wantsStale: false
  }
}
