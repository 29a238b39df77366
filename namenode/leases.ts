/**
 * Puts in progress. A put names a lease on every batch it allocates and on
 * the DAG nodes it indexes; until its pin commits (or the lease lapses,
 * when a client died), gc leaves those blocks alone. Held in memory: after a
 * restart, gc's grace period on fresh blocks covers puts that were running.
 */
export class Leases {
  private readonly leases = new Map<string, { expiresMs: number, keys: Set<string> }>()
  private readonly clock: () => number
  private readonly timeoutMs: number

  /** `timeoutMs`: a lease not renewed this long lapses. Default 10 min. */
  constructor (clock: () => number, timeoutMs = 10 * 60_000) {
    this.clock = clock
    this.timeoutMs = timeoutMs
  }

  hold (lease: string, mhs: Uint8Array[]): void {
    let entry = this.leases.get(lease)
    if (entry === undefined) {
      entry = { expiresMs: 0, keys: new Set() }
      this.leases.set(lease, entry)
    }
    entry.expiresMs = this.clock() + this.timeoutMs
    for (const mh of mhs) entry.keys.add(keyOf(mh))
  }

  release (lease: string): void {
    this.leases.delete(lease)
  }

  protects (mh: Uint8Array): boolean {
    this.expire()
    const key = keyOf(mh)
    for (const entry of this.leases.values()) if (entry.keys.has(key)) return true
    return false
  }

  get active (): number {
    this.expire()
    return this.leases.size
  }

  private expire (): void {
    const now = this.clock()
    for (const [id, entry] of this.leases) if (entry.expiresMs <= now) this.leases.delete(id)
  }
}

function keyOf (mh: Uint8Array): string {
  return Buffer.from(mh.buffer, mh.byteOffset, mh.byteLength).toString('latin1')
}
