import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
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
    return dagCbor.decode(bytes)
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
