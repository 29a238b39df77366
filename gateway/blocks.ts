import type { CID } from 'multiformats/cid'
import { AbortedError, BlockNotFoundError, TimeoutError, isCode, NotFoundError } from '../core/index.ts'
import type { BlockGetter } from '../core/index.ts'

export interface GatewayBlocksInit {
  reader: BlockGetter
  /** The request's root: a block the cluster never had is a 404 only for it. */
  root: CID
  /** The longest a single block may take; the request fails with 504 after it. */
  blockTimeoutMs: number
  signal: AbortSignal
}

/**
 * The client's block reader as one request sees it: every fetch has a
 * deadline (a request never hangs on a datanode that stopped answering),
 * and a block missing below the root is a bad gateway (502), not a 404:
 * the path exists, the cluster lost or never got part of it.
 */
export class GatewayBlocks implements BlockGetter {
  private readonly init: GatewayBlocksInit
  /** CIDs in the order first fetched: the blocks a path walk needed. */
  recorded: CID[] | undefined

  constructor (init: GatewayBlocksInit) {
    this.init = init
  }

  hint (cids: CID[]): void {
    this.init.reader.hint?.(cids)
  }

  async get (cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    this.recorded?.push(cid)
    // one controller and one timer per fetch, both released when it settles: AbortSignal.timeout
    // and AbortSignal.any would keep every fetch's signal (and what listens on it) alive for the
    // whole timeout, thousands of them during a big file
    const controller = new AbortController()
    let timedOut = false
    let fail: (err: Error) => void = () => {}
    const stopped = new Promise<never>((_resolve, reject) => { fail = reject })
    stopped.catch(() => {})
    const abort = (): void => {
      controller.abort()
      fail(timedOut ? this.timeoutError(cid) : new AbortedError('request cancelled'))
    }
    const timer = setTimeout(() => { timedOut = true; abort() }, this.init.blockTimeoutMs)
    const outer = [this.init.signal, options.signal].filter((s): s is AbortSignal => s !== undefined)
    for (const s of outer) {
      if (s.aborted) abort()
      else s.addEventListener('abort', abort, { once: true })
    }
    try {
      // a reader that ignored the signal would still not hold the request past the deadline
      return await Promise.race([this.init.reader.get(cid, { signal: controller.signal }), stopped])
    } catch (err) {
      if (timedOut) throw this.timeoutError(cid, err)
      if (isCode(err, NotFoundError) && !cid.equals(this.init.root)) {
        throw new BlockNotFoundError(`block ${cid} of this DAG is not stored in the cluster`, {
          cause: err,
          hint: 'the DAG is incomplete; import the missing blocks (cairn import) or check cairn fsck'
        })
      }
      throw err
    } finally {
      clearTimeout(timer)
      for (const s of outer) s.removeEventListener('abort', abort)
    }
  }

  private timeoutError (cid: CID, cause?: unknown): TimeoutError {
    return new TimeoutError(`block ${cid} did not arrive within ${this.init.blockTimeoutMs} ms`, {
      ...(cause === undefined ? {} : { cause }),
      hint: 'datanodes holding it may be overloaded or unreachable; cairn report shows their state'
    })
  }
}
