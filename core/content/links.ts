import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { ProtocolError } from '../errors.ts'

const JSON_CODE = 0x0200
const CBOR_CODE = 0x51
const LIBP2P_KEY_CODE = 0x72

/** Codecs whose blocks can link to other blocks. */
export function mayHaveLinks (cid: CID): boolean {
  return cid.code === dagPb.code || cid.code === dagCbor.code || cid.code === dagJson.code
}

/** Codecs Cairn can read links from; other blocks are stored and served as opaque leaves. */
export function isKnownCodec (cid: CID): boolean {
  return mayHaveLinks(cid) || cid.code === raw.code || cid.code === JSON_CODE ||
    cid.code === CBOR_CODE || cid.code === LIBP2P_KEY_CODE
}

/** The CIDs a block links to, in order (a CID linked twice appears twice). */
export function blockLinks (cid: CID, bytes: Uint8Array): CID[] {
  try {
    if (cid.code === dagPb.code) return dagPb.decode(bytes).Links.map((link) => link.Hash)
    if (cid.code === dagCbor.code) return collectCids(dagCbor.decode(bytes))
    if (cid.code === dagJson.code) return collectCids(dagJson.decode(bytes))
  } catch (err) {
    throw new ProtocolError(`block ${cid} does not decode as its codec says`, { cause: err })
  }
  return []
}

function collectCids (value: unknown, out: CID[] = [], depth = 0): CID[] {
  // dag-cbor nesting is bounded by the block size; this guards a hostile block anyway
  if (depth > 512 || value === null || typeof value !== 'object') return out
  const cid = CID.asCID(value)
  if (cid !== null) {
    out.push(cid)
    return out
  }
  if (value instanceof Uint8Array) return out
  for (const item of Array.isArray(value) ? value : Object.values(value)) collectCids(item, out, depth + 1)
  return out
}
