import { readFile } from '../../core/index.ts'
import type { ContentContext } from '../context.ts'
import { BadRequestError } from '../errors.ts'
import { contentDisposition, etagMatches, parseRange } from '../headers.ts'
import { sniffType, typeByName, typeOfCodec } from '../mime.ts'
import { pipeBody, prefetch, send } from '../respond.ts'
import type { Headers } from '../respond.ts'

/** Bytes read before the status is sent: a failure within them is a clean 502/504, not a cut connection. */
const COMMIT_AFTER_BYTES = 1024 * 1024
const SNIFF_BYTES = 512

/** A UnixFS file, a raw block, or a non-UnixFS block (dag-cbor, json...) as the content. */
export async function serveFile (ctx: ContentContext): Promise<void> {
  const { entry } = ctx.resolved
  const name = ctx.request.query.get('filename') ?? ctx.resolved.segments.at(-1)
  const etag = `"${entry.cid.toString()}"`
  const headers: Headers = { ...ctx.common, ETag: etag, 'Accept-Ranges': 'bytes' }
  const disposition = dispositionOf(ctx, name)
  if (disposition !== undefined) headers['Content-Disposition'] = disposition
  if (etagMatches(ctx.req.headers['if-none-match'], etag)) {
    send(ctx.res, 304, headers, '', true)
    return
  }

  // a block that is not UnixFS is its own content
  const inline = entry.type === 'object' ? entry.node as Uint8Array : undefined
  const size = inline?.byteLength ?? (entry.type === 'file' ? Number(entry.unixfs.fileSize()) : Number(entry.size))
  const read = (offset: number, length: number): AsyncGenerator<Uint8Array> => inline !== undefined
    ? (async function * () { yield inline.subarray(offset, offset + length) })()
    : readFile(entry.cid, ctx.blocks, { offset, length, signal: ctx.signal })

  const range = parseRange(ctx.req.headers.range, size)
  if (range === 'unsatisfiable') {
    send(ctx.res, 416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain; charset=utf-8' }, `416 Range Not Satisfiable: the file has ${size} bytes\n`, ctx.head)
    return
  }
  const start = range?.start ?? 0
  const length = range === undefined ? size : range.end - range.start + 1

  let body: AsyncGenerator<Uint8Array> | undefined
  let first: Uint8Array[] = []
  let done = true
  if (!ctx.head && length > 0) {
    body = read(start, length)
    ;({ first, done } = await prefetch(body, Math.min(length, COMMIT_AFTER_BYTES)))
  }
  headers['Content-Type'] = inline !== undefined && entry.cid.code !== 0x55
    ? typeOfCodec(entry.cid.code)
    : typeByName(name) ?? sniffType(await head(start === 0 ? first : [], read, size))
  headers['Content-Length'] = length
  if (range !== undefined) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`
  ctx.res.writeHead(range === undefined ? 200 : 206, headers)
  if (ctx.head || body === undefined) {
    ctx.res.end()
    return
  }
  await pipeBody(ctx.res, done ? emptyStream() : body, first)
}

/** Up to SNIFF_BYTES from the file's start, from what was read already when possible. */
async function head (have: Uint8Array[], read: (offset: number, length: number) => AsyncGenerator<Uint8Array>, size: number): Promise<Uint8Array> {
  const from = Buffer.concat(have)
  if (from.byteLength >= Math.min(SNIFF_BYTES, size)) return from.subarray(0, SNIFF_BYTES)
  const chunks: Uint8Array[] = []
  for await (const chunk of read(0, Math.min(SNIFF_BYTES, size))) chunks.push(chunk)
  return Buffer.concat(chunks)
}

function dispositionOf (ctx: ContentContext, name: string | undefined): string | undefined {
  const download = ctx.request.query.get('download')
  if (download !== null && download !== 'true' && download !== 'false') throw new BadRequestError(`download=${download}: use download=true`)
  const filename = ctx.request.query.get('filename')
  if (download === 'true') return contentDisposition('attachment', name ?? ctx.resolved.entry.cid.toString())
  if (filename !== null) return contentDisposition('inline', filename)
  return undefined
}

async function * emptyStream (): AsyncGenerator<Uint8Array> {}
