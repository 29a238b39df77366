import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CAR_CONTENT_TYPE, blockLinks, encodeCar, isIdentity, walkDag } from '../../core/index.ts'
import type { Block } from '../../core/index.ts'
import type { ContentContext } from '../context.ts'
import { BadRequestError } from '../errors.ts'
import { contentDisposition, etagMatches, parseEntityBytes } from '../headers.ts'
import { pipeBody, prefetch, send } from '../respond.ts'

export type DagScope = 'all' | 'entity' | 'block'

/** `?format=raw`: the block itself, verifiable by its CID. */
export async function serveRawBlock (ctx: ContentContext): Promise<void> {
  const cid = ctx.resolved.entry.cid
  const etag = `"${cid.toString()}.raw"`
  const headers = {
    ...ctx.common,
    ETag: etag,
    'Content-Type': 'application/vnd.ipld.raw',
    'Content-Disposition': contentDisposition('attachment', ctx.request.query.get('filename') ?? `${cid.toString()}.bin`),
    'X-Content-Type-Options': 'nosniff'
  }
  if (etagMatches(ctx.req.headers['if-none-match'], etag)) {
    send(ctx.res, 304, headers, '', true)
    return
  }
  send(ctx.res, 200, headers, await ctx.blocks.get(cid, { signal: ctx.signal }), ctx.head)
}

/**
 * `?format=car`: the blocks that prove the path (from the root down), then
 * the terminal entity's blocks as `dag-scope` and `entity-bytes` select,
 * depth-first, each once, identity CIDs left out (the spec's rule).
 */
export async function serveCar (ctx: ContentContext, pathBlocks: CID[]): Promise<void> {
  const { query } = ctx.request
  const scope = (query.get('dag-scope') ?? 'all') as DagScope
  if (scope !== 'all' && scope !== 'entity' && scope !== 'block') {
    throw new BadRequestError(`dag-scope=${scope} is not all, entity or block`)
  }
  const entityBytes = query.get('entity-bytes')
  const terminal = ctx.resolved.entry.cid
  const params = `${scope}|${entityBytes ?? ''}`
  const etag = `"${terminal.toString()}.car.${createHash('sha256').update(`${ctx.root.toString()}|${params}`).digest('hex').slice(0, 16)}"`
  const headers = {
    ...ctx.common,
    ETag: etag,
    'Content-Type': CAR_CONTENT_TYPE,
    'Content-Disposition': contentDisposition('attachment', ctx.request.query.get('filename') ?? `${terminal.toString()}.car`),
    'X-Content-Type-Options': 'nosniff'
  }
  if (etagMatches(ctx.req.headers['if-none-match'], etag)) {
    send(ctx.res, 304, headers, '', true)
    return
  }
  const terminalBytes = await ctx.blocks.get(terminal, { signal: ctx.signal })
  const children = childrenFor(scope, entityBytes, terminal, terminalBytes)
  if (ctx.head) {
    ctx.res.writeHead(200, headers)
    ctx.res.end()
    return
  }
  const stream = encodeCar([ctx.root], carBlocks(ctx, pathBlocks, terminal, children))
  // the first MiB (the path, the terminal and what follows) before the status: a block missing there is still a clean error
  const { first, done } = await prefetch(stream, 1024 * 1024)
  ctx.res.writeHead(200, headers)
  await pipeBody(ctx.res, done ? (async function * () {})() : stream, first)
}

async function * carBlocks (ctx: ContentContext, pathBlocks: CID[], terminal: CID, children: (cid: CID, bytes: Uint8Array) => CID[]): AsyncGenerator<Block> {
  const sent = new Set<string>()
  for (const cid of pathBlocks) {
    const key = cid.toString()
    if (cid.equals(terminal) || sent.has(key) || isIdentity(cid)) continue
    sent.add(key)
    yield { cid, bytes: await ctx.blocks.get(cid, { signal: ctx.signal }) }
  }
  for await (const block of walkDag(ctx.blocks, terminal, { signal: ctx.signal, children })) {
    const key = block.cid.toString()
    if (sent.has(key) || isIdentity(block.cid)) continue
    sent.add(key)
    yield block
  }
}

/** Which links the walk follows, by scope: everything, the entity's own blocks, or none. */
function childrenFor (scope: DagScope, entityBytes: string | null, terminal: CID, terminalBytes: Uint8Array): (cid: CID, bytes: Uint8Array) => CID[] {
  if (scope === 'all' && entityBytes === null) return blockLinks
  if (scope === 'block') return () => []
  const file = unixfsOf(terminal, terminalBytes)
  if (file?.kind === 'file' && entityBytes !== null) {
    const range = parseEntityBytes(entityBytes, Number(file.unixfs.fileSize()))
    if (range === undefined) return () => []
    return rangeChildren(terminal, range)
  }
  // entity: a file's blocks, a directory's own node (a HAMT's shards), one block of anything else
  return (cid, bytes) => {
    const info = unixfsOf(cid, bytes)
    if (info === undefined) return []
    if (info.kind === 'file') return info.node.Links.map((l) => l.Hash)
    if (info.kind === 'hamt') {
      const prefix = (Number(info.unixfs.fanout ?? 256n) - 1).toString(16).length
      return info.node.Links.filter((l) => (l.Name ?? '').length === prefix).map((l) => l.Hash)
    }
    return []
  }
}

/** Only the links of a file that hold bytes in [start, end), tracking each node's offset. */
function rangeChildren (root: CID, range: { start: number, end: number }): (cid: CID, bytes: Uint8Array) => CID[] {
  const offsets = new Map<string, number>([[root.toString(), 0]])
  return (cid, bytes) => {
    const info = unixfsOf(cid, bytes)
    if (info?.kind !== 'file') return []
    let position = (offsets.get(cid.toString()) ?? 0) + (info.unixfs.data?.byteLength ?? 0)
    const out: CID[] = []
    info.node.Links.forEach((link, i) => {
      const size = Number(info.unixfs.blockSizes[i] ?? 0n)
      if (position < range.end && position + size > range.start) {
        if (!offsets.has(link.Hash.toString())) offsets.set(link.Hash.toString(), position)
        out.push(link.Hash)
      }
      position += size
    })
    return out
  }
}

type UnixfsInfo = { kind: 'file' | 'directory' | 'hamt' | 'other', node: dagPb.PBNode, unixfs: UnixFS }

function unixfsOf (cid: CID, bytes: Uint8Array): UnixfsInfo | undefined {
  if (cid.code === raw.code || cid.code !== dagPb.code) return undefined
  try {
    const node = dagPb.decode(bytes)
    const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array(0))
    const kind = unixfs.type === 'file' || unixfs.type === 'raw'
      ? 'file'
      : unixfs.type === 'hamt-sharded-directory' ? 'hamt' : unixfs.type === 'directory' ? 'directory' : 'other'
    return { kind, node, unixfs }
  } catch {
    return undefined
  }
}
