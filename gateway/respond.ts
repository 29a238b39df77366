import type { ServerResponse } from 'node:http'
import { describe, statusOf } from './errors.ts'
import { escapeHtml } from './html.ts'

export type Headers = Record<string, string | number>

/** A whole, small body (a listing, an error, a page). */
export function send (res: ServerResponse, status: number, headers: Headers, body: Uint8Array | string, head: boolean): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  res.writeHead(status, { ...headers, 'Content-Length': bytes.byteLength })
  res.end(head ? undefined : bytes)
}

/**
 * The error as the client should see it: a status from the one table, the
 * message and the hint; HTML for browsers, text for the rest. Once the body
 * has started, the status can no longer change: the connection is cut so
 * the client sees a truncated response, never wrong or short bytes as a
 * success.
 */
export function sendError (res: ServerResponse, err: unknown, head: boolean, html: boolean): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : new Error(String(err)))
    return
  }
  const status = statusOf(err)
  const { message, hint } = describe(err)
  const reason = STATUS_TEXT[status] ?? 'Error'
  const headers: Headers = { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' }
  if (html) {
    headers['Content-Type'] = 'text/html; charset=utf-8'
    send(res, status, headers, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>${status} ${reason}</title></head><body style="font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem"><h1>${status} ${escapeHtml(reason)}</h1><p>${escapeHtml(message)}</p>${hint === undefined ? '' : `<p><em>${escapeHtml(hint)}</em></p>`}<p><a href="/">cluster status</a></p></body></html>\n`, head)
    return
  }
  headers['Content-Type'] = 'text/plain; charset=utf-8'
  send(res, status, headers, `${status} ${reason}: ${message}\n${hint === undefined ? '' : `hint: ${hint}\n`}`, head)
}

/** Writes chunks, waiting when the socket's buffer is full, so memory stays bounded by the reader's read-ahead. */
export async function pipeBody (res: ServerResponse, chunks: AsyncIterable<Uint8Array>, first: Uint8Array[] = []): Promise<void> {
  for (const chunk of first) await write(res, chunk)
  for await (const chunk of chunks) await write(res, chunk)
  await new Promise<void>((resolve) => { res.end(resolve) })
}

async function write (res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed) throw new Error('the client went away')
  if (res.write(chunk)) return
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { res.off('drain', done); res.off('close', closed); resolve() }
    const closed = (): void => { res.off('drain', done); res.off('close', closed); reject(new Error('the client went away')) }
    res.on('drain', done)
    res.on('close', closed)
  })
}

/** Takes chunks until `bytes` are in hand or the stream ends: errors in that part still get a proper status. */
export async function prefetch (chunks: AsyncIterator<Uint8Array>, bytes: number): Promise<{ first: Uint8Array[], done: boolean }> {
  const first: Uint8Array[] = []
  let have = 0
  while (have < bytes) {
    const next = await chunks.next()
    if (next.done === true) return { first, done: true }
    first.push(next.value)
    have += next.value.byteLength
  }
  return { first, done: false }
}

export function wantsHtml (accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/html')
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 416: 'Range Not Satisfiable',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'
}
