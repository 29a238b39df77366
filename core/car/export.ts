import type { CID } from 'multiformats/cid'
import type { ContentPath } from '../content/cid.ts'
import type { ClientContext } from '../client/context.ts'
import { resolveCid } from '../client/resolve.ts'
import { encodeCar } from './encode.ts'
import { walkDag } from './walk.ts'

export interface CarExport {
  root: CID
  /** The CAR's bytes; fetched as they are consumed. */
  stream: AsyncGenerator<Uint8Array>
}

/**
 * A CARv1 of the whole DAG at `path` (its root is the path's last CID):
 * blocks in depth-first order, each once, streamed with bounded read-ahead.
 */
export async function exportCar (ctx: ClientContext, path: ContentPath, signal?: AbortSignal): Promise<CarExport> {
  const root = await resolveCid(ctx, path, signal)
  return { root, stream: encodeCar([root], walkDag(ctx.reader, root, signal === undefined ? {} : { signal })) }
}
