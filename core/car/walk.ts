import type { CID } from 'multiformats/cid'
import { READ_AHEAD_BLOCKS } from '../constants.ts'
import { blockLinks } from '../content/links.ts'
import type { BlockGetter } from '../content/read-file.ts'
import { isIdentity } from '../content/verify.ts'

export interface Block {
  cid: CID
  bytes: Uint8Array
}

export interface WalkInit {
  signal?: AbortSignal
  /** Blocks fetched ahead of the consumer. Default READ_AHEAD_BLOCKS. */
  readAheadBlocks?: number
  /**
   * The children to descend into, in order. Default: every link of the
   * block. Trustless gateway scopes (entity, byte ranges) narrow this.
   */
  children?: (cid: CID, bytes: Uint8Array) => CID[]
}

/**
 * Every block of a DAG in depth-first order (a CAR's order), each CID once,
 * identity CIDs left out.
 * Blocks are fetched up to `readAheadBlocks` ahead, the next ones to visit
 * being the top of the stack, so memory stays bounded by that many blocks
 * however large the DAG and however slow the consumer.
 */
export async function * walkDag (blocks: BlockGetter, root: CID, init: WalkInit = {}): AsyncGenerator<Block> {
  const readAhead = Math.max(1, init.readAheadBlocks ?? READ_AHEAD_BLOCKS)
  const childrenOf = init.children ?? blockLinks
  const controller = new AbortController()
  const signal = init.signal === undefined ? controller.signal : AbortSignal.any([init.signal, controller.signal])
  const seen = new Set<string>()
  const stack: CID[] = [root]
  const ahead = new Map<string, Promise<Uint8Array>>()

  const fetch = (cid: CID): Promise<Uint8Array> => {
    const pending = blocks.get(cid, { signal })
    // a rejection is seen when its turn comes; until then it must not count as unhandled
    pending.catch(() => {})
    return pending
  }
  const prefetch = (): void => {
    for (let i = stack.length - 1; i >= 0 && ahead.size < readAhead; i--) {
      const cid = stack[i] as CID
      const key = cid.toString()
      if (!seen.has(key) && !ahead.has(key)) ahead.set(key, fetch(cid))
    }
  }

  try {
    while (stack.length > 0) {
      const cid = stack.pop() as CID
      const key = cid.toString()
      if (seen.has(key)) continue
      seen.add(key)
      const pending = ahead.get(key) ?? fetch(cid)
      ahead.delete(key)
      prefetch()
      const bytes = await pending
      // an identity CID's bytes are in the CID itself: CARs leave them out (the trustless gateway spec requires it)
      if (!isIdentity(cid)) yield { cid, bytes }
      const links = childrenOf(cid, bytes)
      blocks.hint?.(links)
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i] as CID)
      prefetch()
    }
  } finally {
    controller.abort()
  }
}
