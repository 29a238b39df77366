/**
 * Where every block lives: multihash key -> datanode indexes, plus how many
 * copies pins want. Rebuilt from block reports; never persisted. Kept small
 * per block (no CID objects, small integer replicas): a 1 TiB cluster of
 * 256 KiB blocks has four million entries.
 */
export interface BlockEntry {
  size: number
  /** Datanode indexes holding a copy. */
  replicas: number[]
  /** Copies wanted: the highest replication of the pins reaching this block; 0 if unpinned. */
  want: number
}

export class BlockMap {
  private readonly entries = new Map<string, BlockEntry>()

  get size (): number {
    return this.entries.size
  }

  get (key: string): BlockEntry | undefined {
    return this.entries.get(key)
  }

  addReplica (key: string, size: number, datanode: number): void {
    const entry = this.entries.get(key)
    if (entry === undefined) {
      this.entries.set(key, { size, replicas: [datanode], want: 0 })
      return
    }
    entry.size = size
    if (!entry.replicas.includes(datanode)) entry.replicas.push(datanode)
  }

  removeReplica (key: string, datanode: number): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    const at = entry.replicas.indexOf(datanode)
    if (at >= 0) entry.replicas.splice(at, 1)
    this.collect(key, entry)
  }

  /** Forgets every copy on a datanode (before its full report replaces them). */
  dropDatanode (datanode: number): void {
    for (const [key, entry] of this.entries) {
      const at = entry.replicas.indexOf(datanode)
      if (at < 0) continue
      entry.replicas.splice(at, 1)
      this.collect(key, entry)
    }
  }

  /** Sets how many copies a block should have, creating the entry if no copy is known yet. */
  setWant (key: string, want: number): void {
    const entry = this.entries.get(key)
    if (entry === undefined) {
      if (want > 0) this.entries.set(key, { size: 0, replicas: [], want })
      return
    }
    entry.want = want
    this.collect(key, entry)
  }

  clearWants (): void {
    for (const [key, entry] of this.entries) {
      entry.want = 0
      this.collect(key, entry)
    }
  }

  entriesView (): IterableIterator<[string, BlockEntry]> {
    return this.entries.entries()
  }

  private collect (key: string, entry: BlockEntry): void {
    if (entry.replicas.length === 0 && entry.want === 0) this.entries.delete(key)
  }
}
