import type { CID } from 'multiformats/cid'
import type { BlockReader } from './block-reader.ts'
import type { DatanodePool } from './datanode-pool.ts'
import type { NamenodeClient } from './namenode-client.ts'

/** What every client operation works with. */
export interface ClientContext {
  namenode: NamenodeClient
  pool: DatanodePool
  reader: BlockReader
}

/** The reader as the exporter wants a blockstore (interface-blockstore 7: `get` yields chunks). */
export function exporterStore (reader: BlockReader): { get: (cid: CID, options?: { signal?: AbortSignal }) => AsyncGenerator<Uint8Array> } {
  return {
    async * get (cid, options) {
      yield await reader.get(cid, options)
    }
  }
}
