import * as dagCbor from '@ipld/dag-cbor'
import * as cborg from 'cborg'
import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { ProtocolError, decodeMessage, encodeMessage, rawCid } from '../../../core/index.ts'
import { prng } from '../../helpers/data.ts'

/**
 * Message headers decode CIDs with a decoder of our own (multiformats'
 * costs a separate ArrayBuffer per CID): it must give what dag-cbor gives,
 * for every kind of CID, and refuse what dag-cbor refuses.
 */
describe('message codec', () => {
  it('decodes every kind of CID as dag-cbor does, as CIDs that own their bytes', async () => {
    const rand = prng(11)
    const cids: CID[] = []
    for (let i = 0; i < 200; i++) {
      const data = new Uint8Array(1 + Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256))
      const hasher = [sha256, sha512, identity][i % 3]!
      const digest = await hasher.digest(data)
      const code = [raw.code, 0x70, 0x71, 0x0129, 0x300001][i % 5]!
      cids.push(CID.createV1(code, digest))
      if (digest.code === sha256.code) cids.push(CID.createV0(digest as Awaited<ReturnType<typeof sha256.digest>>))
    }
    const message = { k: 'q', i: 7, p: { cids, nested: [{ one: cids[3] }, cids[4]], sizes: cids.map((_, i) => i) } }
    // a Buffer, as frames off a socket are
    const bytes = Buffer.from(encodeMessage(message))
    const ours = decodeMessage(bytes) as typeof message
    const theirs = dagCbor.decode(bytes) as typeof message
    expect(ours.p.cids).toHaveLength(cids.length)
    ours.p.cids.forEach((cid, i) => {
      const want = theirs.p.cids[i]!
      expect(CID.asCID(cid)).toBe(cid)
      expect(cid.equals(want)).toBe(true)
      expect(cid.toString()).toBe(want.toString())
      expect(cid.version).toBe(want.version)
      expect(cid.code).toBe(want.code)
      expect(cid.multihash.code).toBe(want.multihash.code)
      expect([...cid.multihash.digest]).toEqual([...want.multihash.digest])
      expect([...cid.bytes]).toEqual([...want.bytes])
    })
    expect((ours.p.nested[0] as { one: CID }).one.equals(cids[3]!)).toBe(true)
    expect(ours.p.sizes).toEqual(theirs.p.sizes)
    // a CID kept stays whole when the frame's buffer is reused
    bytes.fill(0)
    ours.p.cids.forEach((cid, i) => { expect(cid.toString()).toBe(cids[i]!.toString()) })
  })

  it('refuses a tag 42 that is not a CID, as dag-cbor does', () => {
    const good = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    const tagged = (bytes: Uint8Array): Uint8Array => cborg.encode(new cborg.Tagged(42, bytes))
    for (const bad of [
      good.bytes, // no leading 0x00
      Uint8Array.of(0, ...good.bytes, 1), // trailing bytes
      Uint8Array.of(0, ...good.bytes.subarray(0, 20)), // cut short
      Uint8Array.of(0, 3, 0x55, 0x12, 0x20, ...new Uint8Array(32)), // version 3
      new Uint8Array(0)
    ]) {
      const bytes = tagged(bad)
      expect(() => dagCbor.decode(bytes)).toThrow()
      expect(() => decodeMessage(bytes)).toThrow(ProtocolError)
    }
    expect(() => decodeMessage(cborg.encode(new cborg.Tagged(42, 'text')))).toThrow(ProtocolError)
  })
})

describe('rawCid', () => {
  it('is CID.createV1(raw, multihash) for any multihash, and keeps its own copy', async () => {
    for (const digest of [await sha256.digest(Uint8Array.of(1)), await sha512.digest(Uint8Array.of(2)), identity.digest(Uint8Array.of(3, 4, 5))]) {
      const mh = Uint8Array.from(digest.bytes)
      const cid = rawCid(mh)
      const want = CID.createV1(raw.code, digest)
      expect(cid.equals(want)).toBe(true)
      expect(cid.toString()).toBe(want.toString())
      expect(CID.asCID(cid)).toBe(cid)
      mh.fill(0)
      expect(cid.toString()).toBe(want.toString())
    }
  })
})
