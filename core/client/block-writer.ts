import type { CID } from 'multiformats/cid'
import {
  WRITE_BATCH_BLOCKS, WRITE_BATCH_BYTES, WRITE_IN_FLIGHT_BYTES, WRITE_TARGET_RETRIES
} from '../constants.ts'
import { AbortedError, CairnError, NoDatanodesError } from '../errors.ts'
import type { BlockSink } from '../content/import.ts'
import type { DatanodeAddress } from '../protocol/messages.ts'
import { Semaphore } from '../util/limit.ts'
import type { DatanodePool } from './datanode-pool.ts'
import { shortId } from './datanode-pool.ts'
import type { NamenodeClient } from './namenode-client.ts'

export interface BlockWriterInit {
  namenode: NamenodeClient
  pool: DatanodePool
  replication: number
  signal?: AbortSignal
  /** Default WRITE_BATCH_BYTES. */
  batchBytes?: number
  /** Default WRITE_BATCH_BLOCKS. */
  batchBlocks?: number
  /** Bytes of blocks held while they replicate; `put` waits beyond it. Default WRITE_IN_FLIGHT_BYTES. */
  inFlightBytes?: number
  /** Bytes whose copies are all stored. */
  onStored?: (bytes: number) => void
  /** Blocks that now have copies, and where (a reader that learns it need not ask the namenode). */
  onReplicated?: (blocks: Array<{ cid: CID, bytes: Uint8Array }>, holders: DatanodeAddress[]) => void
  /** Things the user should know that do not fail the write. */
  onWarning?: (message: string) => void
  /** The put's lease: keeps its blocks from gc until the pin commits. */
  lease?: string
}

export interface WriteSummary {
  /** Copies every block has at least. */
  minCopies: number
  /** Blocks sent (the rest were already stored well enough). */
  blocksSent: number
  blocksSkipped: number
}

interface Batch {
  blocks: Array<{ cid: CID, bytes: Uint8Array }>
  bytes: number
  /** Budget taken for these blocks, given back when the batch is done. */
  held: number
}

/**
 * The importer's block sink for a put: gathers blocks into batches, asks
 * the namenode where each batch goes, and streams it to every target at
 * once (fan-out), ending with a sync that makes the blocks durable and
 * reported. A target that fails is replaced by another datanode; the put
 * fails only when no copy could be stored. Memory is bounded by
 * `inFlightBytes`: `put` waits while that many bytes are unreplicated.
 */
export class BlockWriter implements BlockSink {
  private readonly init: BlockWriterInit
  private readonly budget: Semaphore
  private readonly budgetBytes: number
  private current: Batch = { blocks: [], bytes: 0, held: 0 }
  private readonly inFlight = new Set<Promise<void>>()
  private failure: Error | undefined
  private minCopies = Number.POSITIVE_INFINITY
  private blocksSent = 0
  private blocksSkipped = 0
  private warnedShort = false

  constructor (init: BlockWriterInit) {
    this.init = init
    this.budgetBytes = init.inFlightBytes ?? WRITE_IN_FLIGHT_BYTES
    this.budget = new Semaphore(this.budgetBytes)
  }

  async put (cid: CID, bytes: Uint8Array): Promise<void> {
    this.throwIfFailed()
    const hold = Math.min(bytes.byteLength, this.budgetBytes)
    // never wait for budget that only this unsealed batch could give back
    if (this.current.held + hold > this.budgetBytes / 2) this.seal()
    await this.budget.acquire(hold)
    this.throwIfFailed()
    this.current.blocks.push({ cid, bytes })
    this.current.bytes += bytes.byteLength
    this.current.held += hold
    if (this.current.bytes >= (this.init.batchBytes ?? WRITE_BATCH_BYTES) ||
        this.current.blocks.length >= (this.init.batchBlocks ?? WRITE_BATCH_BLOCKS)) {
      this.seal()
    }
  }

  /** Sends what is left and waits for every batch. Throws the first failure. */
  async flush (): Promise<WriteSummary> {
    this.seal()
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.throwIfFailed()
    return {
      minCopies: Number.isFinite(this.minCopies) ? this.minCopies : this.init.replication,
      blocksSent: this.blocksSent,
      blocksSkipped: this.blocksSkipped
    }
  }

  private throwIfFailed (): void {
    if (this.failure !== undefined) throw this.failure
    if (this.init.signal?.aborted === true) throw new AbortedError('put cancelled')
  }

  private seal (): void {
    if (this.current.blocks.length === 0) return
    const batch = this.current
    this.current = { blocks: [], bytes: 0, held: 0 }
    const work = this.replicate(batch)
      .catch((err: unknown) => { this.failure ??= err as Error })
      .finally(() => {
        this.inFlight.delete(work)
        this.budget.release(batch.held)
      })
    this.inFlight.add(work)
  }

  private async replicate (batch: Batch): Promise<void> {
    const { namenode, replication } = this.init
    const signal = this.init.signal
    const allocation = await namenode.allocate({
      replication,
      bytes: batch.bytes,
      cids: batch.blocks.map((b) => b.cid),
      ...(this.init.lease === undefined ? {} : { lease: this.init.lease })
    }, signal)
    const blocks = batch.blocks.filter((_, i) => allocation.present[i] !== true)
    this.blocksSkipped += batch.blocks.length - blocks.length
    if (blocks.length === 0) {
      this.init.onStored?.(batch.bytes)
      return
    }
    if (allocation.targets.length < replication && !this.warnedShort) {
      this.warnedShort = true
      this.init.onWarning?.(`only ${allocation.liveDatanodes} datanode(s) are live: storing ${allocation.targets.length} cop${allocation.targets.length === 1 ? 'y' : 'ies'} of each block instead of ${replication}`)
    }

    const tried = new Set(allocation.targets.map((t) => t.id))
    let stored = 0
    const holders: DatanodeAddress[] = []
    const errors: Error[] = []
    let pending = allocation.targets
    for (let round = 0; round <= WRITE_TARGET_RETRIES && pending.length > 0; round++) {
      const targets = pending
      const results = await Promise.allSettled(targets.map(async (target) => { await this.sendTo(target, blocks) }))
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      stored += results.length - failed.length
      results.forEach((r, i) => { if (r.status === 'fulfilled') holders.push(targets[i] as DatanodeAddress) })
      for (const f of failed) errors.push(f.reason as Error)
      if (failed.length === 0 || signal?.aborted === true) break
      // replace the targets that failed with datanodes not tried yet
      const again = await namenode.allocate({
        replication, bytes: batch.bytes, cids: [], count: failed.length, exclude: [...tried]
      }, signal).catch(() => undefined)
      pending = again?.targets ?? []
      for (const t of pending) tried.add(t.id)
      if (pending.length > 0) {
        this.init.onWarning?.(`${failed.length} datanode(s) failed during the write (${errors.at(-1)?.message ?? ''}); retrying on ${pending.map((t) => shortId(t.id)).join(', ')}`)
      }
    }
    if (stored === 0) {
      const first = errors[0]
      if (first instanceof CairnError) throw first
      throw new NoDatanodesError(`no datanode could store the data${first === undefined ? '' : `: ${first.message}`}`, {
        hint: 'check cairn report for live datanodes with free space'
      })
    }
    if (stored < Math.min(replication, allocation.liveDatanodes)) {
      this.init.onWarning?.(`some blocks have ${stored} of ${replication} copies for now; the namenode repairs this`)
    }
    this.minCopies = Math.min(this.minCopies, stored)
    this.init.onReplicated?.(blocks, holders)
    this.blocksSent += blocks.length
    this.init.onStored?.(batch.bytes)
  }

  /** Streams the blocks to one datanode (requests pipelined on one connection), then syncs. */
  private async sendTo (target: DatanodeAddress, blocks: Batch['blocks']): Promise<void> {
    const signal = this.init.signal
    const opts = signal === undefined ? {} : { signal }
    const peer = await this.init.pool.peer(target, signal)
    await Promise.all(blocks.map(async ({ cid, bytes }) => {
      await peer.call('block.put', { cid }, { ...opts, body: bytes })
    }))
    await peer.request('block.sync', {}, { ...opts, timeoutMs: 60_000 })
  }
}
