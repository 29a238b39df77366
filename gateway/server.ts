import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CairnClient } from '../core/index.ts'
import { NotFoundError, TimeoutError } from '../core/index.ts'
import { parseRequest } from './request.ts'
import { send, sendError, wantsHtml } from './respond.ts'
import { serveContent } from './routes/content.ts'
import { StatusCache } from './status/data.ts'
import { renderStatus } from './status/render.ts'

export const DEFAULT_GATEWAY_HOST = '127.0.0.1'
export const DEFAULT_GATEWAY_PORT = 8080
/** The longest one block may take before the request fails with 504. */
export const GATEWAY_BLOCK_TIMEOUT_MS = 30_000
/** The longest a request may take to resolve its path and produce its first bytes. */
export const GATEWAY_FIRST_BYTE_TIMEOUT_MS = 60_000
/** How long one gathering of the status page's data is reused. */
export const STATUS_CACHE_MS = 2_000

export interface GatewayInit {
  client: CairnClient
  /** Default DEFAULT_GATEWAY_HOST: loopback, so nothing is exposed unless asked. */
  host?: string
  /** Default DEFAULT_GATEWAY_PORT; 0 for any free port. */
  port?: number
  /** Default GATEWAY_BLOCK_TIMEOUT_MS. */
  blockTimeoutMs?: number
  /** Default GATEWAY_FIRST_BYTE_TIMEOUT_MS. */
  firstByteTimeoutMs?: number
  /** Told about requests that failed on the gateway's side (5xx). */
  onError?: (err: unknown, url: string) => void
}

/**
 * The HTTP gateway: the path gateway and trustless responses over the
 * cluster, read-only, and the cluster status page. Bodies stream with
 * backpressure through the client's bounded reader.
 */
export class Gateway {
  private readonly init: GatewayInit
  private readonly server: Server
  private readonly status: StatusCache
  private readonly blockTimeoutMs: number
  private readonly firstByteTimeoutMs: number

  constructor (init: GatewayInit) {
    this.init = init
    this.blockTimeoutMs = init.blockTimeoutMs ?? GATEWAY_BLOCK_TIMEOUT_MS
    this.firstByteTimeoutMs = init.firstByteTimeoutMs ?? GATEWAY_FIRST_BYTE_TIMEOUT_MS
    this.status = new StatusCache(init.client, STATUS_CACHE_MS)
    this.server = createServer((req, res) => { void this.handle(req, res) })
    // slow or idle clients must not hold sockets forever
    this.server.headersTimeout = 20_000
    this.server.requestTimeout = 0
    this.server.keepAliveTimeout = 5_000
  }

  /** Starts listening; resolves with the base URL. */
  async start (): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.init.port ?? DEFAULT_GATEWAY_PORT, this.init.host ?? DEFAULT_GATEWAY_HOST, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    return this.url
  }

  get url (): string {
    const address = this.server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${host}:${address.port}`
  }

  async stop (): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => { resolve() })
      this.server.closeAllConnections()
    })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD'
    const html = wantsHtml(req.headers.accept)
    const controller = new AbortController()
    res.on('close', () => { controller.abort() })
    // until the status is sent; once bytes flow, each block has its own deadline instead
    const firstByte = setTimeout(() => {
      if (!res.headersSent) {
        sendError(res, new TimeoutError(`no response within ${this.firstByteTimeoutMs} ms`, { hint: 'the cluster is slow or part of the DAG is unreachable; try again, and check cairn report' }), head, html)
        controller.abort()
      }
    }, this.firstByteTimeoutMs)
    try {
      if (req.method !== 'GET' && !head) {
        send(res, 405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }, '405 Method Not Allowed: this gateway is read-only\n', false)
        return
      }
      const request = parseRequest(req.url ?? '/')
      if (request.namespace !== undefined) {
        await serveContent({ client: this.init.client, blockTimeoutMs: this.blockTimeoutMs }, req, res, request, controller.signal)
        return
      }
      await this.own(request.rawPath, res, head)
    } catch (err) {
      if (controller.signal.aborted && res.headersSent) {
        res.destroy()
        return
      }
      const status = (err as { name?: string }).name
      if (status !== 'NotFoundError' && !res.headersSent) this.init.onError?.(err, req.url ?? '')
      sendError(res, err, head, html)
    } finally {
      clearTimeout(firstByte)
    }
  }

  /** The gateway's own pages. */
  private async own (path: string, res: ServerResponse, head: boolean): Promise<void> {
    const noStore = { 'Cache-Control': 'no-store' }
    if (path === '/' || path === '/status' || path === '/status/') {
      send(res, 200, { ...noStore, 'Content-Type': 'text/html; charset=utf-8' }, renderStatus(await this.status.get()), head)
      return
    }
    if (path === '/favicon.ico') {
      // browsers ask for one beside every file they show; an answer keeps their consoles clean
      send(res, 204, { 'Cache-Control': 'public, max-age=86400' }, '', head)
      return
    }
    if (path === '/status.json') {
      send(res, 200, { ...noStore, 'Content-Type': 'application/json' }, JSON.stringify(await this.status.get(), jsonValue, 1), head)
      return
    }
    throw new NotFoundError(`${path} is not a page of this gateway`, { hint: 'content lives under /ipfs/<cid> and /ipns/<name>; the cluster status is at /' })
  }
}

function jsonValue (_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value
}
