import { formatBytes, formatDuration } from '../../core/index.ts'

export interface ProgressInit {
  /** What is moving: "put", "get". */
  label: string
  /** Total bytes when known (enables percent and ETA). */
  total?: number
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream
  /** Default: only when the stream is a terminal. */
  enabled?: boolean
}

/** Redraws at most this often, so progress costs nothing next to the transfer. */
const REDRAW_MS = 100
/** Rate is averaged over roughly this window. */
const RATE_WINDOW_MS = 3_000

/**
 * One status line on a terminal: bytes, rate, percent and ETA. Silent when
 * the stream is not a terminal, so piped and scripted output stays clean.
 */
export class Progress {
  private readonly label: string
  private readonly total: number | undefined
  private readonly stream: NodeJS.WriteStream
  private readonly enabled: boolean
  private readonly startMs = Date.now()
  private bytes = 0
  private lastDrawMs = 0
  private readonly samples: Array<{ atMs: number, bytes: number }> = []
  private drawn = false

  constructor (init: ProgressInit) {
    this.label = init.label
    this.total = init.total
    this.stream = init.stream ?? process.stderr
    this.enabled = init.enabled ?? this.stream.isTTY === true
  }

  add (bytes: number): void {
    this.bytes += bytes
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.lastDrawMs < REDRAW_MS) return
    this.lastDrawMs = now
    this.samples.push({ atMs: now, bytes: this.bytes })
    while (this.samples.length > 2 && now - (this.samples[0]?.atMs ?? now) > RATE_WINDOW_MS) this.samples.shift()
    this.draw(now)
  }

  /** Clears the line; the caller prints its own summary. */
  done (): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K')
    this.drawn = false
  }

  /** Bytes per second over the whole run. */
  get averageRate (): number {
    const seconds = (Date.now() - this.startMs) / 1000
    return seconds > 0 ? this.bytes / seconds : 0
  }

  get elapsedMs (): number {
    return Date.now() - this.startMs
  }

  private draw (now: number): void {
    const first = this.samples[0]
    const rate = first !== undefined && now > first.atMs ? (this.bytes - first.bytes) * 1000 / (now - first.atMs) : 0
    let line = `${this.label}  ${formatBytes(this.bytes)}`
    if (this.total !== undefined && this.total > 0) {
      const percent = Math.min(100, Math.floor(this.bytes * 100 / this.total))
      line += ` / ${formatBytes(this.total)}  ${percent}%`
    }
    line += `  ${formatBytes(rate)}/s`
    if (this.total !== undefined && rate > 0 && this.bytes < this.total) {
      line += `  ETA ${formatDuration((this.total - this.bytes) * 1000 / rate)}`
    }
    this.stream.write(`\r\x1b[K${line}`)
    this.drawn = true
  }
}
