import * as dagCbor from '@ipld/dag-cbor'
import * as cborg from 'cborg'
import type { TagDecodeControl } from 'cborg'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { ProtocolError } from '../errors.ts'

/**
 * Message headers are dag-cbor: compact, and CIDs travel as CIDs (tag 42)
 * rather than strings. dag-cbor refuses `undefined`, which optional fields in
 * TypeScript objects produce all the time, so absent fields are dropped here.
 */
export function encodeMessage (value: unknown): Uint8Array {
  return dagCbor.encode(dropUndefined(value))
}

export function decodeMessage (bytes: Uint8Array): unknown {
  try {
    return cborg.decode(bytes, DECODE_OPTIONS)
  } catch (err) {
    throw new ProtocolError('peer sent a message that is not valid dag-cbor', { cause: err })
  }
}

function dropUndefined (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Uint8Array || CID.asCID(value) !== null) return value
  if (Array.isArray(value)) return value.map((item) => item === undefined ? null : dropUndefined(item))
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = dropUndefined(item)
  }
  return out
}

/** dag-cbor's tag for CIDs. */
const CID_TAG = 42

/**
 * dag-cbor's own rules, with a CID decoder of our own. multiformats builds
 * a decoded CIDv1 by encoding its bytes again into a fresh small array and
 * then reading that array's `.buffer`, which makes V8 give it an
 * ArrayBuffer of its own: 6-12 µs a CID here, so a block report of 10,000
 * blocks cost the namenode 60-120 ms to decode, and a million-block
 * datanode's report seconds.
 */
const DECODE_OPTIONS = {
  ...dagCbor.decodeOptions,
  tags: Object.assign([], dagCbor.decodeOptions.tags, { [CID_TAG]: decodeCidTag })
}

function decodeCidTag (decode: TagDecodeControl): CID {
  const bytes = decode() as unknown
  if (!(bytes instanceof Uint8Array) || bytes[0] !== 0) throw new Error('Invalid CID for CBOR tag 42; expected leading 0x00')
  return cidFromBytes(bytes.subarray(1))
}

/**
 * CID.decode's result, built around a copy in Node's buffer pool: cborg
 * hands out each byte string as a small fresh array, and the CID must not
 * read such an array's `.buffer` (see above).
 */
export function cidFromBytes (wire: Uint8Array): CID {
  const pooled = Buffer.from(wire)
  const bytes = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength)
  const specs = CID.inspectBytes(bytes)
  if (specs.size !== bytes.byteLength) throw new Error('Incorrect length')
  // v0 is its multihash alone: multiformats makes it without a second encoding
  if (specs.version === 0) return CID.decode(bytes)
  const digest = Digest.decode(bytes.subarray(specs.size - specs.multihashSize))
  return new CID(specs.version, specs.codec, digest, bytes)
}
