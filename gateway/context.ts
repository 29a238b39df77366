import type { IncomingMessage, ServerResponse } from 'node:http'
import type { CID } from 'multiformats/cid'
import type { CairnClient } from '../core/index.ts'
import type { GatewayBlocks } from './blocks.ts'
import type { Headers } from './respond.ts'
import type { GatewayRequest } from './request.ts'
import type { Resolved } from './resolve.ts'

/** Everything a content route needs for one request. */
export interface ContentContext {
  client: CairnClient
  req: IncomingMessage
  res: ServerResponse
  request: GatewayRequest
  head: boolean
  /** Aborted when the client goes away. */
  signal: AbortSignal
  blocks: GatewayBlocks
  root: CID
  resolved: Resolved
  /** X-Ipfs-Path, X-Ipfs-Roots, Cache-Control and friends, for every response. */
  common: Headers
}
