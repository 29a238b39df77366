import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdtemp, open, readdir, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockCorruptError, BlockNotFoundError, DiskFullError, MAX_BLOCK_BYTES } from '../../core/index.ts'
import { BlockStore } from '../../datanode/index.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(path.join(tmpdir(), 'cairn-bs-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function block (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

describe('BlockStore', () => {
  it('stores, lists and serves blocks, and finds them again after a restart', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const a = await block('a')
    expect(await store.put(a.cid, a.bytes)).toBe(true)
    expect(await store.put(a.cid, a.bytes)).toBe(false)
    await store.sync()
    expect(Buffer.from(await store.get(a.cid)).toString()).toBe('a')

    const again = new BlockStore({ path: dir, reservedBytes: 0 })
    await again.open()
    expect(again.has(a.cid)).toBe(true)
    expect([...again.list()].map((b) => b.size)).toEqual([1])
    expect(Buffer.from(await again.get(a.cid)).toString()).toBe('a')
  })

  it('refuses bytes that do not match the CID, and stores nothing', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const a = await block('a')
    await expect(store.put(a.cid, new TextEncoder().encode('b'))).rejects.toBeInstanceOf(BlockCorruptError)
    expect(store.has(a.cid)).toBe(false)
  })

  it('never serves a block altered on disk', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const a = await block('original bytes')
    await store.put(a.cid, a.bytes)
    await writeFile(store.fileOf(a.cid), 'tampered bytes')
    await expect(store.get(a.cid)).rejects.toBeInstanceOf(BlockCorruptError)
  })

  it('writes one block once when many puts of it race (no truncated file)', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const bytes = new Uint8Array(1024 * 1024).fill(42)
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    const results = await Promise.all(Array.from({ length: 16 }, async () => await store.put(cid, bytes)))
    expect(results.filter(Boolean)).toHaveLength(1)
    expect((await readFile(store.fileOf(cid))).byteLength).toBe(bytes.byteLength)
    const leftovers = (await readdir(path.dirname(store.fileOf(cid)))).filter((n) => n.endsWith('.tmp'))
    expect(leftovers).toEqual([])
  })

  it('removes temp files a crash left behind', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const a = await block('a')
    await store.put(a.cid, a.bytes)
    const stray = path.join(path.dirname(store.fileOf(a.cid)), '.half-written.123.0.tmp')
    await writeFile(stray, 'partial')
    await new BlockStore({ path: dir, reservedBytes: 0 }).open()
    expect((await readdir(path.dirname(stray))).includes(path.basename(stray))).toBe(false)
  })

  it('refuses a block when the disk is full (all but the reserve)', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: Number.MAX_SAFE_INTEGER })
    await store.open()
    const a = await block('a')
    await expect(store.put(a.cid, a.bytes)).rejects.toBeInstanceOf(DiskFullError)
    expect((await store.usage()).availableBytes).toBe(0)
  })

  it('deletes blocks', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const a = await block('a')
    await store.put(a.cid, a.bytes)
    expect(await store.delete(a.cid)).toBe(true)
    await expect(store.get(a.cid)).rejects.toBeInstanceOf(BlockNotFoundError)
  })

  it('a gc delete keeps a block sent again since the order came, even with no grace, and deletes one that was not', async () => {
    const store = new BlockStore({ path: dir, reservedBytes: 0 })
    await store.open()
    const kept = await block('sent again')
    const gone = await block('left alone')
    await store.put(kept.cid, kept.bytes)
    await store.put(gone.cid, gone.bytes)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const orderedAtMs = Date.now()
    // a put sends one of them again after the order reached the datanode, before it ran
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(await store.put(kept.cid, kept.bytes)).toBe(false)
    expect(await store.deleteUnlessFresh(kept.cid, 0, orderedAtMs)).toBe(false)
    expect(await store.deleteUnlessFresh(gone.cid, 0, orderedAtMs)).toBe(true)
    expect(store.has(kept.cid)).toBe(true)
    expect(store.has(gone.cid)).toBe(false)
    // an order that came after it was sent again deletes it (without grace)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await store.deleteUnlessFresh(kept.cid, 0, Date.now())).toBe(true)
  })

  it('writes blocks of every size byte-exact, with O_DIRECT where the disk has it and through the page cache otherwise', async () => {
    const sizes = [0, 1, 4095, 4096, 4097, 1024 * 1024 + 1, MAX_BLOCK_BYTES]
    const blocks = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const bytes = randomBytes(sizes[i % sizes.length] as number)
      return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
    }))
    let directSupported = true
    try {
      await (await open(path.join(dir, 'probe'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT)).close()
    } catch {
      directSupported = false
    }
    for (const slots of [2, 0]) {
      const root = path.join(dir, `slots-${slots}`)
      const store = new BlockStore({ path: root, reservedBytes: 0, directWriteSlots: slots })
      await store.open()
      expect(store.directWrites).toBe(slots > 0 && directSupported)
      // more writes than slots at once: some wait for a staging buffer
      await Promise.all(blocks.map(async (b) => await store.put(b.cid, b.bytes)))
      await store.sync()
      for (const b of blocks) {
        expect(Buffer.compare(await readFile(store.fileOf(b.cid)), b.bytes)).toBe(0)
        expect(Buffer.compare(Buffer.from(await store.get(b.cid)), b.bytes)).toBe(0)
      }
      expect((await readdir(root)).filter((name) => name.endsWith('.tmp'))).toEqual([])
    }
  })
})
