import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { BlockReader } from '../../../core/client/block-reader.ts'
import type { DatanodeAddress } from '../../../core/index.ts'

/**
 * The reader's memory of blocks its client just stored. These reads are
 * all hits: a miss would go to the cluster, which this reader has none of.
 */
describe('BlockReader, blocks just written', () => {
  const reader = (): BlockReader => new BlockReader({ namenode: undefined as never, pool: undefined as never })
  const holders = [{ id: 'dn-1' }] as unknown as DatanodeAddress[]
  const block = async (text: string, size = 4096): Promise<{ cid: CID, bytes: Uint8Array }> => {
    const bytes = Buffer.alloc(size, text)
    return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
  }

  it('counts a block written again once, so repeats do not push everything else out', async () => {
    const r = reader()
    const same = await block('same')
    // 3,000 x 4 KiB is past the 8 MiB bound if each repeat were counted
    for (let i = 0; i < 3_000; i++) r.learn([same], holders)
    const other = await block('other')
    r.learn([other], holders)
    expect(Buffer.from(await r.get(same.cid)).equals(same.bytes)).toBe(true)
    expect(Buffer.from(await r.get(other.cid)).equals(other.bytes)).toBe(true)
  })

  it('keeps the newest blocks within its bound, and none over 64 KiB', async () => {
    const r = reader()
    const blocks = await Promise.all(Array.from({ length: 2_100 }, async (_, i) => await block(`b${i}`)))
    for (const b of blocks) r.learn([b], holders)
    // the newest 2,048 x 4 KiB fit in 8 MiB; the oldest went first
    for (const b of blocks.slice(-2_048)) expect(Buffer.from(await r.get(b.cid)).equals(b.bytes)).toBe(true)
    await expect(r.get((blocks[0] as { cid: CID }).cid)).rejects.toThrow()
    const big = await block('big', 64 * 1024 + 1)
    r.learn([big], holders)
    await expect(r.get(big.cid)).rejects.toThrow()
  })
})
