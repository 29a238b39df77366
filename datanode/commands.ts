import type { CID } from 'multiformats/cid'
import { BlockCorruptError, BlockNotFoundError, Semaphore } from '../core/index.ts'
import type { DatanodeAddress, DatanodeCommand, DatanodePool, Logger } from '../core/index.ts'
import type { BlockStore } from './block-store.ts'

export interface CommandRunnerInit {
  store: BlockStore
  /** Connections to other datanodes. */
  pool: DatanodePool
  /** Tells the namenode what changed. */
  report: {
    received (blocks: Array<{ cid: CID, size: number }>): Promise<void>
    deleted (cids: CID[]): Promise<void>
    corrupt (cid: CID): Promise<void>
  }
  /** gc deletes skip blocks written or sent again this recently (and any sent again since the order came). */
  gcGraceMs: number
  /** Copies sent at once. Default 8. */
  maxTransfers?: number
  /** Runs when copies finish and the runner has room: ask the namenode for more. */
  onRoom?: () => void
  log: Logger
}

/**
 * Carries out the namenode's orders: copy a block to other datanodes,
 * delete copies, re-check copies a client doubted. Runs in the background;
 * a failed copy is only logged, since the namenode schedules it again when
 * the new copy is not reported in time.
 */
export class CommandRunner {
  private readonly init: CommandRunnerInit
  private readonly transfers: Semaphore
  private readonly running = new Set<Promise<void>>()
  private stopped = false

  constructor (init: CommandRunnerInit) {
    this.init = init
    this.transfers = new Semaphore(init.maxTransfers ?? 8)
  }

  get active (): number {
    return this.running.size
  }

  run (commands: DatanodeCommand[]): void {
    const orderedAtMs = Date.now()
    for (const command of commands) {
      if (this.stopped) return
      const job = this.execute(command, orderedAtMs).catch((err: unknown) => {
        this.init.log.warn(`${command.kind} failed: ${(err as Error).message}`)
      }).finally(() => {
        this.running.delete(job)
        if (command.kind === 'replicate' && this.running.size < (this.init.maxTransfers ?? 8)) this.init.onRoom?.()
      })
      this.running.add(job)
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    await Promise.allSettled([...this.running])
  }

  private async execute (command: DatanodeCommand, orderedAtMs: number): Promise<void> {
    switch (command.kind) {
      case 'replicate': await this.transfers.run(async () => { await this.replicate(command.cid, command.targets) }); return
      case 'delete': await this.delete(command.cids, command.gc === true, orderedAtMs); return
      case 'verify': await this.verify(command.cids); return
    }
  }

  private async replicate (cid: CID, targets: DatanodeAddress[]): Promise<void> {
    const bytes = await this.read(cid)
    if (bytes === undefined) return
    await Promise.all(targets.map(async (target) => {
      const peer = await this.init.pool.peer(target)
      await peer.call('block.put', { cid }, { body: bytes })
      // the target reports the block to the namenode before its sync answers
      await peer.request('block.sync', {}, { timeoutMs: 60_000 })
    }))
  }

  /** `orderedAtMs`: when the order came; a gc delete keeps a block sent again since. */
  private async delete (cids: CID[], gc: boolean, orderedAtMs: number): Promise<void> {
    const deleted: CID[] = []
    for (const cid of cids) {
      const gone = gc ? await this.init.store.deleteUnlessFresh(cid, this.init.gcGraceMs, orderedAtMs) : await this.init.store.delete(cid)
      if (gone) deleted.push(cid)
    }
    await this.init.store.sync()
    if (deleted.length > 0) await this.init.report.deleted(deleted)
    if (deleted.length < cids.length) this.init.log.info(`kept ${cids.length - deleted.length} of ${cids.length} blocks gc asked to delete: they were written again lately`)
  }

  private async verify (cids: CID[]): Promise<void> {
    const good: Array<{ cid: CID, size: number }> = []
    for (const cid of cids) {
      const bytes = await this.read(cid)
      if (bytes !== undefined) good.push({ cid, size: bytes.byteLength })
    }
    // the copy is fine after all: count it again
    if (good.length > 0) await this.init.report.received(good)
  }

  /** The block's verified bytes; undefined (and the namenode told) when it is gone or corrupt. */
  private async read (cid: CID): Promise<Uint8Array | undefined> {
    try {
      return await this.init.store.get(cid)
    } catch (err) {
      if (err instanceof BlockNotFoundError) {
        await this.init.report.deleted([cid])
        return undefined
      }
      if (err instanceof BlockCorruptError) {
        this.init.log.warn(err.message)
        await this.init.report.corrupt(cid)
        return undefined
      }
      throw err
    }
  }
}
