import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import * as varint from 'uint8-varint'
import type { Block } from './walk.ts'

/** The media type of a CARv1 as the trustless gateway spec names it. */
export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car; version=1; order=dfs; dups=n'

/** A CARv1 header: varint length, then dag-cbor `{ version: 1, roots }`. */
export function carHeader (roots: CID[]): Uint8Array {
  const header = dagCbor.encode({ version: 1, roots })
  return Buffer.concat([varint.encode(header.byteLength), header])
}

/** What precedes a block's bytes in a CAR: varint(CID + data length), then the CID. */
export function carBlockPrefix (cid: CID, byteLength: number): Uint8Array {
  return Buffer.concat([varint.encode(cid.bytes.byteLength + byteLength), cid.bytes])
}

/**
 * A CARv1 as a pull stream. @ipld/car's CarWriter pushes into a channel
 * that a consumer which stops early (an HTTP client hanging up) leaves
 * blocked forever; pulling frames one at a time gives backpressure and
 * clean cancellation, and the frames are two lines of the CAR spec.
 */
export async function * encodeCar (roots: CID[], blocks: AsyncIterable<Block>): AsyncGenerator<Uint8Array> {
  yield carHeader(roots)
  for await (const { cid, bytes } of blocks) {
    yield carBlockPrefix(cid, bytes.byteLength)
    if (bytes.byteLength > 0) yield bytes
  }
}
