import type { BlockInfo, BlockSweep } from './block-table.ts'

export type { BlockInfo, BlockSweep }

/**
 * Where every block lives: multihash -> datanode indexes, how many copies
 * pins want, when it was first seen. Rebuilt from block reports; never
 * persisted. BlockTable is the implementation (about 110 bytes a block).
 */
export interface BlockIndex {
  readonly size: number
  /** Blocks with at least one copy. */
  readonly storedBlocks: number
  /** Copies recorded on one datanode. */
  copiesOn (datanode: number): number
  get (mh: Uint8Array): BlockInfo | undefined
  has (mh: Uint8Array): boolean
  addReplica (mh: Uint8Array, size: number, datanode: number): void
  removeReplica (mh: Uint8Array, datanode: number): void
  hasReplica (mh: Uint8Array, datanode: number): boolean
  dropDatanode (datanode: number): void
  setWant (mh: Uint8Array, want: number): void
  /** At least `want` (and, during a recount, the next want too). */
  raiseWant (mh: Uint8Array, want: number): void
  /** A recount: wants only rise while it gathers the next ones, which finishRecount puts in place. See BlockTable. */
  beginRecount (): void
  readonly recountInProgress: boolean
  recountWant (mh: Uint8Array, want: number): void
  finishRecount (): void
  abortRecount (): void
  setFlags (mh: Uint8Array, flags: number): void
  /** Entries whose flags bits 1-3 hold this tag (1-7), kept as flags change and entries go. */
  tagged (tag: number): number
  /** A pass over every entry in slices; see BlockSweep. */
  sweep (): BlockSweep
  /** `mh` is a reused buffer: copy it to keep it. Only setFlags may change the index meanwhile. */
  forEach (fn: (mh: Uint8Array, info: BlockInfo) => void): void
}
