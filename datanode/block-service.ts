import type { CID } from 'multiformats/cid'
import { BlockCorruptError, Reply, asCid, asCids, asObject } from '../core/index.ts'
import type {
  BlockDeleteParams, BlockDeleteResult, BlockGetParams, BlockGetResult, BlockHasParams, BlockHasResult,
  BlockPutParams, BlockPutResult, BlockSyncResult, Handlers, Logger, Semaphore
} from '../core/index.ts'
import type { BlockStore } from './block-store.ts'

/** What the block service tells the rest of the datanode. */
export interface BlockServiceEvents {
  /** Blocks newly stored and synced; resolves once the namenode knows (incremental block report). */
  received (blocks: Array<{ cid: CID, size: number }>): Promise<void>
  /** Blocks deleted on a peer's request. */
  deleted (cids: CID[]): Promise<void>
  /** A stored block failed verification on read. */
  corrupt (cid: CID): void
}

/**
 * The block protocol, as served on one channel (a libp2p stream or a TLS
 * data connection). Each channel is a session: `block.sync` makes the blocks
 * put on it durable and reported before it answers, so a writer that sees
 * sync succeed knows the namenode can find its blocks.
 */
export function blockSessionHandlers (store: BlockStore, events: BlockServiceEvents, io: Semaphore, log: Logger): Handlers {
  let unsynced: Array<{ cid: CID, size: number }> = []

  return {
    'block.put': async (params: BlockPutParams, ctx): Promise<BlockPutResult> => {
      const cid = asCid(asObject(params).cid)
      // an empty block (the empty raw file) travels without a body
      const body = ctx.body ?? new Uint8Array(0)
      const stored = await io.run(async () => await store.put(cid, body))
      // reported even when it was here already: the session that first put it may have died
      // before its sync, and the namenode would then never learn of this copy
      unsynced.push({ cid, size: body.byteLength })
      return { stored }
    },

    'block.sync': async (): Promise<BlockSyncResult> => {
      const batch = unsynced
      unsynced = []
      await store.sync()
      if (batch.length > 0) await events.received(batch)
      return { blocks: batch.length }
    },

    'block.get': async (params: BlockGetParams): Promise<Reply<BlockGetResult>> => {
      const cid = asCid(asObject(params).cid)
      try {
        const bytes = await io.run(async () => await store.get(cid))
        return new Reply({ size: bytes.byteLength }, bytes)
      } catch (err) {
        if (err instanceof BlockCorruptError) {
          log.warn(`${err.message}; not serving it`)
          events.corrupt(cid)
        }
        throw err
      }
    },

    'block.has': (params: BlockHasParams): BlockHasResult => {
      const cids = asCids(asObject(params).cids)
      return { has: cids.map((cid) => store.has(cid)) }
    },

    'block.delete': async (params: BlockDeleteParams): Promise<BlockDeleteResult> => {
      const cids = asCids(asObject(params).cids)
      const deleted: CID[] = []
      for (const cid of cids) {
        if (await store.delete(cid)) deleted.push(cid)
      }
      await store.sync()
      if (deleted.length > 0) await events.deleted(deleted)
      return { deleted: deleted.length }
    }
  }
}
