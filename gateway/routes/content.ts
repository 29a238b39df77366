import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CID } from 'multiformats/cid'
import { parseCid, parseName, recordInfo } from '../../core/index.ts'
import type { CairnClient } from '../../core/index.ts'
import { GatewayBlocks } from '../blocks.ts'
import type { ContentContext } from '../context.ts'
import { BadRequestError, NotAcceptableError } from '../errors.ts'
import { IMMUTABLE } from '../headers.ts'
import { encodePath } from '../request.ts'
import type { GatewayRequest } from '../request.ts'
import { resolvePath } from '../resolve.ts'
import type { Headers } from '../respond.ts'
import { serveDirectory } from './directory.ts'
import { serveFile } from './file.ts'
import { serveCar, serveRawBlock } from './trustless.ts'

export interface ContentInit {
  client: CairnClient
  blockTimeoutMs: number
}

type Format = 'raw' | 'car' | undefined

/** GET/HEAD of /ipfs/<cid>[/path] and /ipns/<name>[/path]. */
export async function serveContent (init: ContentInit, req: IncomingMessage, res: ServerResponse, request: GatewayRequest, signal: AbortSignal): Promise<void> {
  const { client } = init
  const format = formatOf(request.query.get('format'), req.headers.accept)
  let root: CID
  let segments = request.segments
  let cacheControl = IMMUTABLE
  if (request.namespace === 'ipns') {
    const name = parseName(request.id)
    const target = await client.resolve(`/ipns/${name.text}`, signal)
    root = target.root
    segments = [...target.segments, ...segments]
    const record = await client.namenode.nameGet(name.text, signal)
    const ttlSeconds = Math.max(0, Math.round(recordInfo(record.record).ttlMs / 1000))
    cacheControl = `public, max-age=${ttlSeconds}`
  } else {
    root = parseCid(request.id)
  }

  const blocks = new GatewayBlocks({ reader: client.reader, root, blockTimeoutMs: init.blockTimeoutMs, signal })
  if (format === 'car') blocks.recorded = []
  const resolved = await resolvePath(blocks, root, segments, { followFinalSymlink: format === undefined, signal })
  const pathBlocks = blocks.recorded ?? []
  blocks.recorded = undefined

  const common: Headers = {
    'X-Ipfs-Path': encodePath(request.namespace ?? 'ipfs', request.id, request.segments),
    'X-Ipfs-Roots': resolved.roots.map((c) => c.toString()).join(','),
    'Cache-Control': cacheControl,
    'Access-Control-Allow-Origin': '*',
    Vary: 'Accept'
  }
  const ctx: ContentContext = { client, req, res, request, head: req.method === 'HEAD', signal, blocks, root, resolved, common }
  if (format === 'raw') return await serveRawBlock(ctx)
  if (format === 'car') return await serveCar(ctx, pathBlocks)
  if (resolved.entry.type === 'directory') return await serveDirectory(ctx)
  await serveFile(ctx)
}

/** The response format from `?format=` (which wins) or the Accept header. */
function formatOf (query: string | null, accept: string | undefined): Format {
  if (query !== null) {
    if (query === 'raw' || query === 'car') return query
    throw new BadRequestError(`format=${query} is not supported`, { hint: 'use format=raw or format=car, or no format for the content itself' })
  }
  if (accept === undefined) return undefined
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    if (type === 'application/vnd.ipld.raw') return 'raw'
    if (type === 'application/vnd.ipld.car') {
      const version = params.find((p) => p.startsWith('version='))
      if (version !== undefined && version !== 'version=1') {
        throw new NotAcceptableError(`CAR ${version} is not served`, { hint: 'ask for application/vnd.ipld.car; version=1' })
      }
      return 'car'
    }
  }
  return undefined
}
