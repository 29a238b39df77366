import type { PrivateKey } from '@libp2p/interface'
import { createIPNSRecord, marshalIPNSRecord, multihashToIPNSRoutingKey, unmarshalIPNSRecord } from 'ipns'
import { ipnsValidator, validFor } from 'ipns/validator'
import type { Name } from './names.ts'
import { InvalidRecordError } from '../errors.ts'

/** Record limits and defaults, as Kubo's. */
export const MAX_RECORD_BYTES = 10 * 1024
export const DEFAULT_LIFETIME_MS = 48 * 3_600_000
export const DEFAULT_TTL_MS = 5 * 60_000

export interface RecordInfo {
  /** `/ipfs/<cid>[/path]` or `/ipns/<name>[/path]`. */
  value: string
  sequence: bigint
  /** When the record stops being valid (ms since the epoch). */
  validUntilMs: number
  ttlMs: number
}

export interface CreateRecordInit {
  value: string
  sequence: bigint
  /** Default DEFAULT_LIFETIME_MS. */
  lifetimeMs?: number
  /** Default DEFAULT_TTL_MS. */
  ttlMs?: number
}

/** A signed IPNS record (V2 signature, with the V1 fields Kubo still reads). */
export async function createRecord (key: PrivateKey, init: CreateRecordInit): Promise<Uint8Array> {
  const record = await createIPNSRecord(key, init.value, init.sequence, init.lifetimeMs ?? DEFAULT_LIFETIME_MS, {
    v1Compatible: true,
    ttlNs: BigInt(init.ttlMs ?? DEFAULT_TTL_MS) * 1_000_000n
  })
  return marshalIPNSRecord(record)
}

/**
 * Checks a record against the name it claims to be for: size, signature by
 * the name's key, validity not past, well-formed value. Throws
 * InvalidRecordError saying which.
 */
export async function validateRecord (name: Name, bytes: Uint8Array): Promise<RecordInfo> {
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw new InvalidRecordError(`the record is ${bytes.byteLength} bytes, over the ${MAX_RECORD_BYTES}-byte limit`)
  }
  try {
    await ipnsValidator(multihashToIPNSRoutingKey(name.peerId.toMultihash()), bytes)
  } catch (err) {
    throw new InvalidRecordError(`the record for ${name.text} is not valid: ${reason(err)}`, {
      cause: err,
      hint: 'publish a new record with the name\'s key (cairn name publish)'
    })
  }
  const info = recordInfo(bytes)
  checkValue(info.value)
  return info
}

/** Reads a record without checking it (for records already checked). */
export function recordInfo (bytes: Uint8Array): RecordInfo {
  const record = unmarshalIPNSRecord(bytes)
  return {
    value: record.value,
    sequence: record.sequence,
    validUntilMs: Date.now() + validFor(record),
    ttlMs: Number((record.ttl ?? 0n) / 1_000_000n)
  }
}

function checkValue (value: string): void {
  if (!/^\/(ipfs|ipns)\/[^/]+(\/.*)?$/.test(value)) {
    throw new InvalidRecordError(`the record's value "${value.slice(0, 80)}" is not an /ipfs/ or /ipns/ path`)
  }
}

function reason (err: unknown): string {
  const name = (err as Error)?.name ?? ''
  const message = (err as Error)?.message ?? String(err)
  if (name === 'SignatureVerificationError') return 'its signature does not verify'
  if (name === 'RecordExpiredError') return 'it has expired'
  if (name === 'RecordTooLargeError') return 'it is too large'
  if (name === 'InvalidEmbeddedPublicKeyError') return 'it was signed by another key'
  return message
}
