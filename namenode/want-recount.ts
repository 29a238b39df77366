import type { CID } from 'multiformats/cid'
import type { DagWalk } from './dag-index.ts'
import type { NamenodeState } from './state.ts'

/**
 * Counts again what every block wants, from the pins and the names' roots,
 * a slice at a time: wants only go up between recounts (an unpin leaves
 * them high), and a recount is a walk of every pinned DAG, seconds at
 * millions of blocks. Meanwhile the block table keeps the wants as they
 * are and gathers the new ones aside (BlockTable.beginRecount), including
 * any raised by pins and publishes that arrive during the walk, and
 * `finish` puts them all in place at once. So no block ever wants fewer
 * copies than a pin needs, and the namenode is held for a slice only.
 */
export class WantRecount {
  private readonly state: NamenodeState
  private readonly roots: Array<{ root: CID, replication: number }>
  private next = 0
  private walk: { dag: DagWalk, replication: number } | undefined

  constructor (state: NamenodeState) {
    this.state = state
    this.roots = [...state.pins.values()].map((p) => ({ root: p.root, replication: p.replication }))
    this.roots.push(...state.nameRoots())
    state.blocks.beginRecount()
    // a pin let go from now on asks for the next recount
    state.wantsStale = false
  }

  /** Walks up to `budget` blocks; true once every root is walked (then `finish`). */
  step (budget: number): boolean {
    let left = budget
    while (left > 0) {
      if (this.walk === undefined) {
        const next = this.roots[this.next++]
        if (next === undefined) return true
        this.walk = { dag: this.state.dag.walk(next.root), replication: next.replication }
      }
      const { dag, replication } = this.walk
      let walked = 0
      const done = dag.step(left, (cid) => {
        this.state.blocks.recountWant(cid.multihash.bytes, replication)
        walked++
      })
      left -= walked
      if (done) this.walk = undefined
    }
    return false
  }

  /** Puts the wants found in place (blocks no pin reaches now want nothing). */
  finish (): void {
    this.state.blocks.finishRecount()
  }

  /** Leaves the wants as they were. */
  abort (): void {
    this.state.blocks.abortRecount()
    this.state.wantsStale = true
  }
}

/**
 * Walks the recount under way (state.recount) up to `budget` more blocks;
 * when that ends it, puts the wants in place and clears state.recount, and
 * returns true (the caller then has the monitor sweep: wants fell and
 * entries went). The service's monitor rounds and gc step the same one.
 */
export function advanceRecount (state: NamenodeState, budget: number): boolean {
  const recount = state.recount
  if (recount === undefined || !recount.step(budget)) return false
  recount.finish()
  state.recount = undefined
  return true
}
