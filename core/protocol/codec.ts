import * as dagCbor from '@ipld/dag-cbor'
import * as cborg from 'cborg'
import type { TagDecodeControl } from 'cborg'
import { CID } from 'multiformats/cid'
import { decodeCid } from '../content/cid.ts'
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
 * dag-cbor's own rules, with a CID decoder of our own (decodeCid: see
 * core/content/cid.ts): with multiformats', a block report of 10,000 blocks
 * cost the namenode 60-120 ms to decode, and a million-block datanode's
 * report seconds.
 */
const DECODE_OPTIONS = {
  ...dagCbor.decodeOptions,
  tags: Object.assign([], dagCbor.decodeOptions.tags, { [CID_TAG]: decodeCidTag })
}

function decodeCidTag (decode: TagDecodeControl): CID {
  const bytes = decode() as unknown
  if (!(bytes instanceof Uint8Array) || bytes[0] !== 0) throw new Error('Invalid CID for CBOR tag 42; expected leading 0x00')
  return decodeCid(bytes.subarray(1))
}
