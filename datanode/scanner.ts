import type { CID } from 'multiformats/cid'
import { BlockCorruptError } from '../core/index.ts'
import type { Logger } from '../core/index.ts'
import type { BlockStore } from './block-store.ts'

export interface ScannerInit {
  store: BlockStore
  /** Bytes re-read per second at most; 0 turns the scanner off. */
  bytesPerSec: number
  /** A corrupt copy was found (and set aside by the store). */
  onCorrupt: (cid: CID) => void
  /** Rest between full passes. Default 60 s. */
  restMs?: number
  log: Logger
}

/**
 * Re-reads every stored block in the background and checks it against its
 * hash, at a bounded rate so it never competes with real traffic (HDFS's
 * block scanner does the same at 1 MB/s). Disks rot silently; this is how a
 * copy that went bad is found before a reader needs it.
 */
export class BlockScanner {
  private readonly init: ScannerInit
  private stopped = false
  private wake: (() => void) | undefined
  private loop: Promise<void> | undefined
  scanned = 0
  corrupt = 0
  passes = 0

  constructor (init: ScannerInit) {
    this.init = init
  }

  start (): void {
    if (this.init.bytesPerSec <= 0) return
    this.loop = this.run()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.wake?.()
    await this.loop
  }

  private async run (): Promise<void> {
    while (!this.stopped) {
      const blocks = [...this.init.store.list()]
      for (const { cid, size } of blocks) {
        if (this.stopped) return
        const started = Date.now()
        try {
          await this.init.store.get(cid)
          this.scanned++
        } catch (err) {
          if (err instanceof BlockCorruptError) {
            this.corrupt++
            this.init.log.warn(`scanner: ${err.message}`)
            this.init.onCorrupt(cid)
          }
          // gone since the list was taken: nothing to check
        }
        // pace to the configured rate
        const owed = size * 1000 / this.init.bytesPerSec - (Date.now() - started)
        if (owed > 1) await this.sleep(owed)
      }
      this.passes++
      await this.sleep(this.init.restMs ?? 60_000)
    }
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve() }, ms)
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve() }
    })
  }
}
