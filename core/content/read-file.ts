import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { READ_AHEAD_BLOCKS } from '../constants.ts'
import { InvalidArgumentError, NotAFileError, ProtocolError } from '../errors.ts'

/** Fetches verified blocks. `hint` tells it which blocks are wanted soon, so it can batch lookups. */
export interface BlockGetter {
  get (cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
  hint? (cids: CID[]): void
}

export interface ReadFileOptions {
  /** First byte to return. Default 0. */
  offset?: number
  /** Bytes to return. Default: to the end. */
  length?: number
  /** Leaf blocks fetched ahead of the consumer. Default READ_AHEAD_BLOCKS. */
  readAheadBlocks?: number
  signal?: AbortSignal
}

/** A piece of the file: a leaf still to fetch, or data already in hand (inline in a node). */
type Piece =
  | { kind: 'leaf', cid: CID, skip: number, take: number, expected: number }
  | { kind: 'inline', data: Uint8Array }

/**
 * Streams a UnixFS file (or raw block) in order, with at most
 * `readAheadBlocks` leaves in flight or waiting. Unlike the exporter, which
 * pushes into an unbounded queue as fast as blocks arrive, memory here stays
 * at about readAheadBlocks x the chunk size however slow the consumer is.
 */
export async function * readFile (cid: CID, blocks: BlockGetter, options: ReadFileOptions = {}): AsyncGenerator<Uint8Array> {
  const readAhead = Math.max(1, options.readAheadBlocks ?? READ_AHEAD_BLOCKS)
  const offset = options.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`offset ${offset} is not a byte position`)
  if (options.length !== undefined && (!Number.isSafeInteger(options.length) || options.length < 0)) {
    throw new InvalidArgumentError(`length ${options.length} is not a byte count`)
  }
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal])

  const rootBytes = await blocks.get(cid, { signal })
  const size = fileSize(cid, rootBytes)
  const start = Math.min(offset, size)
  const end = options.length === undefined ? size : Math.min(size, start + options.length)
  if (end <= start) return

  const pieces = planPieces(cid, rootBytes, start, end, { blocks, signal, readAhead })
  const window: Array<Promise<Uint8Array>> = []
  let planned = false
  const fill = async (): Promise<void> => {
    while (!planned && window.length < readAhead) {
      const next = await pieces.next()
      if (next.done === true) { planned = true; return }
      const fetched = fetchPiece(next.value, blocks, signal)
      // a rejection is seen when its turn comes; until then it must not count as unhandled
      fetched.catch(() => {})
      window.push(fetched)
    }
  }
  try {
    while (true) {
      await fill()
      const next = window.shift()
      if (next === undefined) return
      yield await next
    }
  } finally {
    controller.abort()
    await pieces.return(undefined)
  }
}

/** Content size of a file root (raw block or UnixFS file node). */
export function fileSize (cid: CID, bytes: Uint8Array): number {
  if (cid.code === raw.code) return bytes.byteLength
  const unixfs = decodeFileNode(cid, bytes).unixfs
  return Number(unixfs.fileSize())
}

function decodeFileNode (cid: CID, bytes: Uint8Array): { node: dagPb.PBNode, unixfs: UnixFS } {
  if (cid.code !== dagPb.code) {
    throw new NotAFileError(`${cid} is not a file (codec 0x${cid.code.toString(16)})`)
  }
  let node: dagPb.PBNode
  let unixfs: UnixFS
  try {
    node = dagPb.decode(bytes)
    if (node.Data === undefined) throw new Error('no UnixFS data')
    unixfs = UnixFS.unmarshal(node.Data)
  } catch (err) {
    throw new ProtocolError(`${cid} is not a valid UnixFS node`, { cause: err })
  }
  if (unixfs.type !== 'file' && unixfs.type !== 'raw') {
    throw new NotAFileError(`${cid} is a ${unixfs.type}, not a file`, {
      hint: unixfs.type === 'directory' || unixfs.type === 'hamt-sharded-directory' ? 'use ls, or get to download a directory' : undefined
    })
  }
  if (node.Links.length !== unixfs.blockSizes.length) {
    throw new ProtocolError(`${cid} has ${node.Links.length} links but ${unixfs.blockSizes.length} block sizes`)
  }
  return { node, unixfs }
}

interface Walk {
  blocks: BlockGetter
  signal: AbortSignal
  readAhead: number
}

/** The pieces covering [start, end) in file order, fetching dag-pb children as the walk reaches them. */
async function * planPieces (cid: CID, bytes: Uint8Array, start: number, end: number, walk: Walk): AsyncGenerator<Piece> {
  if (cid.code === raw.code) {
    yield { kind: 'inline', data: bytes.subarray(start, end) }
    return
  }
  yield * walkNode(cid, bytes, 0, start, end, walk)
}

async function * walkNode (cid: CID, bytes: Uint8Array, nodeStart: number, start: number, end: number, walk: Walk): AsyncGenerator<Piece> {
  const { blocks, signal } = walk
  const { node, unixfs } = decodeFileNode(cid, bytes)
  let position = nodeStart
  if (unixfs.data !== undefined && unixfs.data.byteLength > 0) {
    const dataEnd = position + unixfs.data.byteLength
    if (dataEnd > start && position < end) {
      yield { kind: 'inline', data: unixfs.data.subarray(Math.max(0, start - position), Math.min(unixfs.data.byteLength, end - position)) }
    }
    position = dataEnd
  }

  // only the children that overlap [start, end)
  const wanted: Array<{ link: dagPb.PBLink, childStart: number, childSize: number }> = []
  for (let i = 0; i < node.Links.length && position < end; i++) {
    const childSize = Number(unixfs.blockSizes[i])
    if (position + childSize > start) wanted.push({ link: node.Links[i] as dagPb.PBLink, childStart: position, childSize })
    position += childSize
  }
  blocks.hint?.(wanted.map((w) => w.link.Hash))

  // dag-pb children (interior nodes, and every leaf under the v0 profile) are
  // fetched up to readAhead ahead of the walk so it rarely waits on them
  const ahead = new Map<number, Promise<Uint8Array>>()
  let scheduled = 0
  const schedule = (upTo: number): void => {
    for (; scheduled < Math.min(upTo, wanted.length); scheduled++) {
      const hash = (wanted[scheduled] as typeof wanted[number]).link.Hash
      if (hash.code === raw.code) continue
      const pending = blocks.get(hash, { signal })
      pending.catch(() => {})
      ahead.set(scheduled, pending)
    }
  }
  for (let i = 0; i < wanted.length; i++) {
    const { link, childStart, childSize } = wanted[i] as typeof wanted[number]
    const skip = Math.max(0, start - childStart)
    const take = Math.min(childSize, end - childStart) - skip
    if (link.Hash.code === raw.code) {
      yield { kind: 'leaf', cid: link.Hash, skip, take, expected: childSize }
      continue
    }
    schedule(i + walk.readAhead)
    const childBytes = await (ahead.get(i) as Promise<Uint8Array>)
    ahead.delete(i)
    const child = decodeFileNode(link.Hash, childBytes)
    if (child.node.Links.length === 0) {
      // a dag-pb leaf (v0 profile): its data is right here
      const data = child.unixfs.data ?? new Uint8Array(0)
      if (data.byteLength !== childSize) throw sizeMismatch(link.Hash, childSize, data.byteLength)
      yield { kind: 'inline', data: data.subarray(skip, skip + take) }
    } else {
      yield * walkNode(link.Hash, childBytes, childStart, start, end, walk)
    }
  }
}

async function fetchPiece (piece: Piece, blocks: BlockGetter, signal: AbortSignal): Promise<Uint8Array> {
  if (piece.kind === 'inline') return piece.data
  const bytes = await blocks.get(piece.cid, { signal })
  if (bytes.byteLength !== piece.expected) throw sizeMismatch(piece.cid, piece.expected, bytes.byteLength)
  return bytes.subarray(piece.skip, piece.skip + piece.take)
}

function sizeMismatch (cid: CID, expected: number, actual: number): ProtocolError {
  return new ProtocolError(`leaf ${cid} holds ${actual} bytes but its parent says ${expected}; the DAG is malformed`)
}
