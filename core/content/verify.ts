import { createHash } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { BlockCorruptError, UnsupportedHashError } from '../errors.ts'

const IDENTITY = 0x00
const SHA2_256 = 0x12
const SHA2_512 = 0x13

/**
 * True when `bytes` hash to `cid`'s multihash. Synchronous on purpose: a
 * 1 MiB SHA-256 takes well under a millisecond here, less than the promise
 * machinery of an async hasher would.
 */
export function hashMatches (cid: CID, bytes: Uint8Array): boolean {
  const { code, digest } = cid.multihash
  let actual: Uint8Array
  switch (code) {
    case SHA2_256: actual = createHash('sha256').update(bytes).digest(); break
    case SHA2_512: actual = createHash('sha512').update(bytes).digest(); break
    case IDENTITY: actual = bytes; break
    default:
      throw new UnsupportedHashError(`cannot verify ${cid}: hash function 0x${code.toString(16)} is not supported`, {
        hint: 'Cairn verifies sha2-256, sha2-512 and identity multihashes'
      })
  }
  return Buffer.compare(actual, digest) === 0
}

/** Throws BlockCorruptError unless `bytes` are the block `cid` names. */
export function verifyBlock (cid: CID, bytes: Uint8Array, where = 'block'): void {
  if (!hashMatches(cid, bytes)) {
    throw new BlockCorruptError(`${where} ${cid} does not match its hash (${bytes.byteLength} bytes)`)
  }
}

export function isIdentity (cid: CID): boolean {
  return cid.multihash.code === IDENTITY
}
