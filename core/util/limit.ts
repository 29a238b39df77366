/**
 * A counting semaphore: at most `limit` holders at once. Waiters are served
 * in order. Used to bound concurrent I/O and bytes in flight.
 */
export class Semaphore {
  private available: number
  private readonly waiters: Array<() => void> = []

  constructor (limit: number) {
    this.available = limit
  }

  async acquire (amount = 1): Promise<void> {
    if (this.waiters.length === 0 && this.available >= amount) {
      this.available -= amount
      return
    }
    await new Promise<void>((resolve) => {
      const tryTake = (): void => {
        if (this.available >= amount) {
          this.available -= amount
          resolve()
        } else {
          this.waiters.unshift(tryTake)
        }
      }
      this.waiters.push(tryTake)
    })
  }

  release (amount = 1): void {
    this.available += amount
    while (this.waiters.length > 0) {
      const next = this.waiters.shift() as () => void
      const before = this.available
      next()
      // the head waiter could not take what it needs: stop, keep order
      if (this.available === before) break
    }
  }

  async run<T> (fn: () => Promise<T>, amount = 1): Promise<T> {
    await this.acquire(amount)
    try {
      return await fn()
    } finally {
      this.release(amount)
    }
  }
}
