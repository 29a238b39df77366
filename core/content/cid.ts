import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { InvalidCidError, InvalidPathError } from '../errors.ts'

/** A CID and the path below it, as named by `<cid>/a/b` or `/ipfs/<cid>/a/b`. */
export interface ContentPath {
  root: CID
  segments: string[]
}

export function parseCid (text: string): CID {
  const trimmed = text.trim()
  if (trimmed === '') {
    throw new InvalidCidError('an empty string is not a CID', { hint: 'pass a CID such as bafy... or Qm...' })
  }
  try {
    return CID.parse(trimmed)
  } catch (err) {
    throw new InvalidCidError(`"${shorten(trimmed)}" is not a valid CID`, {
      cause: err,
      hint: 'a CID looks like bafybei... (CIDv1) or Qm... (CIDv0); check for a truncated copy-paste'
    })
  }
}

/** Parses `<cid>`, `<cid>/path`, `/ipfs/<cid>/path` and `ipfs://<cid>/path`. */
export function parseContentPath (text: string): ContentPath {
  let rest = text.trim()
  if (rest.startsWith('ipfs://')) rest = rest.slice('ipfs://'.length)
  else if (rest.startsWith('/ipfs/')) rest = rest.slice('/ipfs/'.length)
  else if (rest.startsWith('/ipns/') || rest.startsWith('ipns://')) {
    throw new InvalidPathError(`"${shorten(text)}" is an IPNS path; names are not supported by this command yet`, {
      hint: 'resolve the name first and pass /ipfs/<cid>'
    })
  } else if (rest.startsWith('/')) {
    throw new InvalidPathError(`"${shorten(text)}" is not a content path`, {
      hint: 'use <cid>, <cid>/path or /ipfs/<cid>/path'
    })
  }
  const [first = '', ...others] = rest.split('/')
  const root = parseCid(first)
  const segments = others.filter((s) => s !== '')
  for (const segment of segments) {
    if (segment === '.' || segment === '..') {
      throw new InvalidPathError(`"${segment}" cannot appear in a content path`, {
        hint: 'paths inside a DAG only go down; write the full path from the root CID'
      })
    }
    if (segment.includes('\0')) throw new InvalidPathError('a path segment contains a NUL byte')
  }
  return { root, segments }
}

export function formatContentPath (path: ContentPath): string {
  return [path.root.toString(), ...path.segments].join('/')
}

/** The key Cairn uses for a block everywhere: its multihash, so CIDv0/v1 and codecs of the same bytes agree. */
export function blockKey (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64url')
}

function shorten (text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/*
 * CIDs built around bytes in Node's buffer pool. multiformats' CID.createV1
 * (and CID.decode, which calls it) encodes the CID into a fresh small array
 * and then reads its `.buffer`, which makes V8 give that on-heap array an
 * ArrayBuffer of its own (a malloc, and external memory for the collector):
 * 6-12 µs a CID here. Block reports, gc's delete orders, repairs and every
 * message header full of CIDs make one per block.
 */

/** The raw CIDv1 of a multihash: how datanodes and the namenode name blocks (they key them by multihash alone). */
export function rawCid (mh: Uint8Array): CID {
  const pooled = Buffer.allocUnsafe(RAW_CID_V1_PREFIX.length + mh.byteLength)
  pooled.set(RAW_CID_V1_PREFIX, 0)
  pooled.set(mh, RAW_CID_V1_PREFIX.length)
  return cidAround(asUint8Array(pooled), 1, raw.code, RAW_CID_V1_PREFIX.length)
}

/** CIDv1 (varint 1), raw codec (varint 0x55): the bytes before the multihash. */
const RAW_CID_V1_PREFIX = Uint8Array.of(0x01, raw.code)

/** CID.decode of exactly one CID's bytes, kept in a copy of its own. */
export function decodeCid (bytes: Uint8Array): CID {
  const copy = asUint8Array(Buffer.from(bytes))
  const specs = CID.inspectBytes(copy)
  if (specs.size !== copy.byteLength) throw new Error('Incorrect length')
  // v0 is its multihash alone: multiformats makes it without a second encoding
  if (specs.version === 0) return CID.decode(copy)
  return cidAround(copy, specs.version, specs.codec, specs.size - specs.multihashSize)
}

function cidAround (bytes: Uint8Array, version: 1, codec: number, multihashStart: number): CID {
  return new CID(version, codec, Digest.decode(bytes.subarray(multihashStart)), bytes)
}

/** A plain Uint8Array view of a Buffer's bytes (CIDs compare and print their bytes as such). */
function asUint8Array (buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
