import type { CID } from 'multiformats/cid'
import { blockKey, isIdentity, mayHaveLinks } from '../core/index.ts'

export interface Reach {
  /** Every stored block reachable from the root (identity CIDs carry their bytes and are left out). */
  blocks: Map<string, CID>
  /** Reachable nodes that may link onward but whose links the index does not know. */
  unindexed: CID[]
}

/**
 * The links of every linking block (dag-pb, dag-cbor, dag-json) the cluster
 * was told about, so the namenode knows what a pin must keep without reading
 * blocks back from datanodes. Leaf blocks (raw, and link-less nodes recorded
 * with no links) cost one entry or none.
 */
export class DagIndex {
  private readonly links = new Map<string, CID[]>()

  get size (): number {
    return this.links.size
  }

  set (key: string, links: CID[]): void {
    this.links.set(key, links)
  }

  has (key: string): boolean {
    return this.links.has(key)
  }

  delete (key: string): void {
    this.links.delete(key)
  }

  keys (): string[] {
    return [...this.links.keys()]
  }

  /** Walks the DAG below `root` through the index. */
  reach (root: CID, limit = Number.POSITIVE_INFINITY): Reach {
    const blocks = new Map<string, CID>()
    const seen = new Set<string>()
    const unindexed: CID[] = []
    const stack: CID[] = [root]
    while (stack.length > 0 && blocks.size < limit) {
      const cid = stack.pop() as CID
      const key = blockKey(cid)
      if (seen.has(key)) continue
      seen.add(key)
      if (isIdentity(cid)) continue
      blocks.set(key, cid)
      if (!mayHaveLinks(cid)) continue
      const links = this.links.get(key)
      if (links === undefined) {
        unindexed.push(cid)
        continue
      }
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i] as CID)
    }
    return { blocks, unindexed }
  }
}
