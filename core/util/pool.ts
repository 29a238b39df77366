/**
 * Reusable buffers for large frames. Every 1 MiB block received in a fresh
 * ArrayBuffer counts as external memory to V8, which answers with a full
 * mark-compact of the whole heap every ~14 MiB (measured: 18 per 256 MiB put
 * on one datanode, a quarter of its CPU). Reusing a bounded set of buffers
 * keeps external memory flat.
 */
export class BufferPool {
  private readonly classes: number[]
  private readonly idle = new Map<number, Buffer[]>()
  private readonly maxIdlePerClass: number

  /** `classes`: buffer sizes, ascending; a request is served by the smallest that fits. */
  constructor (classes: number[], maxIdlePerClass: number) {
    this.classes = [...classes].sort((a, b) => a - b)
    this.maxIdlePerClass = maxIdlePerClass
    for (const size of this.classes) this.idle.set(size, [])
  }

  /** A buffer of at least `size` bytes (its contents are garbage). */
  take (size: number): Buffer {
    const cls = this.classes.find((c) => c >= size)
    if (cls === undefined) return Buffer.allocUnsafeSlow(size)
    return this.idle.get(cls)?.pop() ?? Buffer.allocUnsafeSlow(cls)
  }

  /** Returns a buffer from `take`. The caller must not touch it afterwards. */
  give (buffer: Buffer): void {
    const list = this.idle.get(buffer.byteLength)
    if (list !== undefined && list.length < this.maxIdlePerClass && buffer.byteOffset === 0) list.push(buffer)
  }
}
