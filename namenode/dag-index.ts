import type { CID } from 'multiformats/cid'
import { blockKey, isIdentity, mayHaveLinks } from '../core/index.ts'

export interface Reach {
  /** Every stored block reachable from the root (identity CIDs carry their bytes and are left out). */
  blocks: Map<string, CID>
  /** Reachable nodes that may link onward but whose links the index does not know. */
  unindexed: CID[]
}

/**
 * A depth-first walk below a root, each stored block once, in slices: the
 * index may change between steps (a walk sees links as they are when it
 * gets to them).
 */
export interface DagWalk {
  /**
   * Visits up to `budget` more blocks (`unindexed`: a node that may link
   * onward but whose links the index does not know). True once done.
   */
  step: (budget: number, visit: (cid: CID, key: string, unindexed: boolean) => void) => boolean
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

  /** The links recorded for a block, if any. */
  linksOf (key: string): CID[] | undefined {
    return this.links.get(key)
  }

  keys (): string[] {
    return [...this.links.keys()]
  }

  /**
   * The part of the DAG below `root` that the DAG below `base` does not
   * share, walking both side by side: a child whose CID the walk has met on
   * the base's side is an unchanged subtree and is not entered. Changed
   * children are paired with the base's unmatched ones in link order (the
   * same name in a sorted directory, the same slot of a file), so an edit
   * deep in a tree costs the path to it plus what is new, not the whole
   * tree. A poor pairing (after a move across directories, say) only walks
   * more; every block left out is one the base reaches.
   */
  reachChanged (root: CID, base: CID): Reach {
    const into: Reach = { blocks: new Map(), unindexed: [] }
    const seen = new Set<string>()
    // blocks met on the base's side so far: a new child equal to any of them (a subtree moved up, or
    // the whole base under a new root) is in the base too
    const inBase = new Set<string>([blockKey(base)])
    const stack: Array<{ cid: CID, was: string | undefined }> = [{ cid: root, was: blockKey(base) }]
    while (stack.length > 0) {
      const { cid, was } = stack.pop() as { cid: CID, was: string | undefined }
      const key = blockKey(cid)
      if (inBase.has(key)) continue
      const links = this.enter(cid, key, into, seen)
      if (links === undefined) continue
      const previous = was === undefined ? undefined : this.links.get(was)
      if (previous === undefined || previous.length === 0) {
        for (let i = links.length - 1; i >= 0; i--) stack.push({ cid: links[i] as CID, was: undefined })
        continue
      }
      const linkKeys = links.map(blockKey)
      const kept = new Set(linkKeys)
      const unmatched: string[] = []
      for (const link of previous) {
        const k = blockKey(link)
        inBase.add(k)
        if (!kept.has(k)) unmatched.push(k)
      }
      const changed: Array<{ cid: CID, was: string | undefined }> = []
      for (let i = 0; i < links.length; i++) {
        if (!inBase.has(linkKeys[i] as string)) changed.push({ cid: links[i] as CID, was: unmatched[changed.length] })
      }
      for (let i = changed.length - 1; i >= 0; i--) stack.push(changed[i] as { cid: CID, was: string | undefined })
    }
    return into
  }

  /** Walks the DAG below `root` through the index (at most `limit` blocks). */
  reach (root: CID, limit = Number.POSITIVE_INFINITY): Reach {
    const into: Reach = { blocks: new Map(), unindexed: [] }
    this.walk(root).step(limit, (cid, key, unindexed) => {
      into.blocks.set(key, cid)
      if (unindexed) into.unindexed.push(cid)
    })
    return into
  }

  /** The same walk as `reach`, resumable, for passes too long to make at once (see DagWalk). */
  walk (root: CID): DagWalk {
    const seen = new Set<string>()
    const stack: CID[] = [root]
    const step = (budget: number, visit: (cid: CID, key: string, unindexed: boolean) => void): boolean => {
      let visited = 0
      while (stack.length > 0 && visited < budget) {
        const cid = stack.pop() as CID
        const key = blockKey(cid)
        if (seen.has(key)) continue
        seen.add(key)
        if (isIdentity(cid)) continue
        const links = mayHaveLinks(cid) ? this.links.get(key) : undefined
        visit(cid, key, links === undefined && mayHaveLinks(cid))
        visited++
        if (links !== undefined) for (let i = links.length - 1; i >= 0; i--) stack.push(links[i] as CID)
      }
      return stack.length === 0
    }
    return { step }
  }

  /** Counts a block met by a walk, once; returns its links when the walk should go on below it. */
  private enter (cid: CID, key: string, into: Reach, seen: Set<string>): CID[] | undefined {
    if (seen.has(key)) return undefined
    seen.add(key)
    if (isIdentity(cid)) return undefined
    into.blocks.set(key, cid)
    if (!mayHaveLinks(cid)) return undefined
    const links = this.links.get(key)
    if (links === undefined) into.unindexed.push(cid)
    return links
  }
}
