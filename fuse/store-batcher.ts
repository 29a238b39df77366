import type { CID } from 'multiformats/cid'
import type { ImportCandidate } from 'ipfs-unixfs-importer'

export interface StoreBatcherInit {
  /** Stores the files of one batch in one round; returns their roots in order. */
  store: (files: ImportCandidate[][]) => Promise<CID[]>
  /** Files per round at most. */
  maxFiles: number
  /** Bytes per round at most (a bigger file still goes, alone). */
  maxBytes: number
}

interface Waiting {
  file: () => ImportCandidate[]
  bytes: number
  resolve: (cid: CID) => void
  reject: (err: Error) => void
}

/**
 * Write-back stores, gathered: files closed while a round runs go out
 * together in the next one, so a burst of small files costs a few
 * placement/transfer/sync rounds instead of one per file (the same group
 * commit the publisher does for the name). One round at a time, in order.
 */
export class StoreBatcher {
  private readonly init: StoreBatcherInit
  private readonly queue: Waiting[] = []
  private running = false

  constructor (init: StoreBatcherInit) {
    this.init = init
  }

  /** `file` is called when its round starts (it opens the spool then, not before). */
  async store (file: () => ImportCandidate[], bytes: number): Promise<CID> {
    const done = new Promise<CID>((resolve, reject) => { this.queue.push({ file, bytes, resolve, reject }) })
    if (!this.running) void this.drain()
    return await done
  }

  private async drain (): Promise<void> {
    this.running = true
    try {
      while (this.queue.length > 0) {
        const batch: Waiting[] = []
        let bytes = 0
        while (this.queue.length > 0 && batch.length < this.init.maxFiles) {
          const next = this.queue[0] as Waiting
          if (batch.length > 0 && bytes + next.bytes > this.init.maxBytes) break
          batch.push(this.queue.shift() as Waiting)
          bytes += next.bytes
        }
        // a file that cannot even be opened fails alone, not its whole round
        const ready: Array<{ w: Waiting, file: ImportCandidate[] }> = []
        for (const w of batch) {
          try {
            ready.push({ w, file: w.file() })
          } catch (err) {
            w.reject(err as Error)
          }
        }
        if (ready.length === 0) continue
        try {
          const roots = await this.init.store(ready.map((r) => r.file))
          ready.forEach((r, i) => { r.w.resolve(roots[i] as CID) })
        } catch (err) {
          for (const r of ready) r.w.reject(err as Error)
        }
      }
    } finally {
      this.running = false
    }
  }
}
