/** The datanode: verified, durable block storage served over the block protocol. */
export { Datanode } from './datanode.ts'
export type { DatanodeInit } from './datanode.ts'
export { BlockStore } from './block-store.ts'
export type { BlockStoreInit, StoredBlock, StoreUsage } from './block-store.ts'
// the block write primitive, also used by the benchmark's bare three-copy transfer (bench/reference/bare-copies.ts)
export { DirectWriter } from './direct-writer.ts'
