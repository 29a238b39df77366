import { unixfs } from '@helia/unixfs'
import type { UnixFS } from '@helia/unixfs'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS as UnixFSData } from 'ipfs-unixfs'
import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { NotADirectoryError, TreeEditor, segmentsOf } from '../../../core/index.ts'
import type { ShardOptions, TreeEdit } from '../../../core/index.ts'
import { prng } from '../../helpers/data.ts'
import { MemoryStore } from '../../helpers/memory-store.ts'

/**
 * The batch editor against the ecosystem: every batch of random changes
 * is applied both through TreeEditor (each directory written once) and one
 * change at a time through @helia/unixfs, the way NameTree did before,
 * and the two roots must be the same CID. Seeded, so a failure replays.
 */

const SHARD_V1: ShardOptions = { shardSplitStrategy: 'block-bytes', shardSplitThresholdBytes: 262_144 }
const SHARD_V0: ShardOptions = { shardSplitStrategy: 'links-bytes', shardSplitThresholdBytes: 262_144 }
const SHARD_V1_LINKS: ShardOptions = SHARD_V0

class Blocks extends MemoryStore {
  async block (cid: CID): Promise<Uint8Array> {
    for await (const bytes of this.get(cid)) return bytes
    throw new Error(`no block ${cid}`)
  }
}


async function rawBlock (store: Blocks, text: string, version: 0 | 1): Promise<CID> {
  const bytes = new TextEncoder().encode(text)
  if (version === 1) {
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await store.put(cid, bytes)
    return cid
  }
  // CIDv0 trees (unixfs-v0-2015) have dag-pb file leaves
  const node = dagPb.encode(dagPb.prepare({ Data: new UnixFSData({ type: 'file', data: bytes }).marshal() }))
  const cid = CID.createV0(await sha256.digest(node))
  await store.put(cid, node)
  return cid
}

async function emptyDir (store: Blocks, version: 0 | 1): Promise<CID> {
  return await unixfs({ blockstore: store }).addDirectory({}, { cidVersion: version })
}

/** What NameTree.apply did before the editor: each change through @helia/unixfs, rebuilding the path each time. */
async function reference (root: CID, edits: TreeEdit[], fs: UnixFS, store: Blocks, shard: ShardOptions): Promise<CID> {
  const version = root.version
  // (the exporter walks on past a dag-pb file node with a path left; a path through a file is nothing here)
  const entryAt = async (at: CID, segments: string[]): Promise<UnixFSEntry | undefined> => {
    try {
      if (segments.length > 1 && (await exporter([at.toString(), ...segments.slice(0, -1)].join('/'), store)).type !== 'directory') return undefined
      return await exporter([at.toString(), ...segments].join('/'), store)
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }
  const inDirectory = async (at: CID, segments: string[], fn: (dir: CID) => Promise<CID>): Promise<CID> => {
    const [head, ...rest] = segments
    if (head === undefined) return await fn(at)
    const child = await entryAt(at, [head])
    let childCid: CID
    if (child === undefined) childCid = await fs.addDirectory({}, { cidVersion: version })
    else if (child.type !== 'directory') throw new NotADirectoryError(`${head} is not a directory`)
    else childCid = child.cid
    return await fs.cp(await inDirectory(childCid, rest, fn), at, head, { force: true, ...shard })
  }
  const place = async (at: CID, target: string[], cid: CID): Promise<CID> => {
    const leaf = target.at(-1)
    if (leaf === undefined) return cid
    return await inDirectory(at, target.slice(0, -1), async (dir) => await fs.cp(cid, dir, leaf, { force: true, ...shard }))
  }
  for (const edit of edits) {
    const segments = segmentsOf(edit.op === 'mv' ? edit.from : edit.path)
    const name = segments.at(-1)
    const parent = segments.slice(0, -1)
    switch (edit.op) {
      case 'put':
        root = await place(root, segments, edit.cid)
        break
      case 'symlink': {
        const bytes = dagPb.encode(dagPb.prepare({ Data: new UnixFSData({ type: 'symlink', data: new TextEncoder().encode(edit.target) }).marshal() }))
        const digest = await sha256.digest(bytes)
        const cid = version === 0 ? CID.createV0(digest) : CID.createV1(dagPb.code, digest)
        await store.put(cid, bytes)
        root = await place(root, segments, cid)
        break
      }
      case 'mkdir': {
        if (name === undefined) break
        const existing = await entryAt(root, segments)
        if (existing?.type === 'directory') break
        root = await place(root, segments, await fs.addDirectory({}, { cidVersion: version }))
        break
      }
      case 'rm': {
        if (name === undefined) break
        const existing = await entryAt(root, segments).catch(() => undefined)
        if (existing === undefined) break
        root = await inDirectory(root, parent, async (dir) => await fs.rm(dir, name, shard))
        break
      }
      case 'mv': {
        const source = await entryAt(root, segments).catch(() => undefined)
        if (source === undefined || name === undefined) break
        const removed = await inDirectory(root, parent, async (dir) => await fs.rm(dir, name, shard))
        root = await place(removed, segmentsOf(edit.to), source.cid)
        break
      }
      case 'chmod':
      case 'touch': {
        const existing = await entryAt(root, segments).catch(() => undefined)
        if (existing === undefined) break
        const changed = edit.op === 'chmod'
          ? await fs.chmod(existing.cid, edit.mode)
          : await fs.touch(existing.cid, { mtime: { secs: BigInt(Math.floor(edit.mtimeMs / 1000)), nsecs: Math.round((edit.mtimeMs % 1000) * 1e6) } })
        root = await place(root, segments, changed)
        break
      }
    }
  }
  return root
}

async function edited (root: CID, edits: TreeEdit[], fs: UnixFS, store: Blocks, shard: ShardOptions): Promise<CID> {
  const tree = await TreeEditor.open(root, {
    blocks: { get: async (cid) => await store.block(cid), put: async (cid, bytes) => { await store.put(cid, bytes) } },
    fs,
    lookup: async (dir, name) => {
      try {
        return (await exporter(`${dir.toString()}/${name}`, store)).cid
      } catch (err) {
        if ((err as Error).name === 'NotFoundError') return undefined
        throw err
      }
    },
    shard,
    cidVersion: root.version as 0 | 1
  })
  for (const edit of edits) await tree.apply(edit)
  return await tree.flush()
}

/** Both ways; both must fail alike or give the same root. */
async function compare (root: CID, edits: TreeEdit[], store: Blocks, shard: ShardOptions): Promise<CID> {
  const fs = unixfs({ blockstore: store })
  const outcome = async (run: () => Promise<CID>): Promise<{ cid?: string, error?: string }> => {
    try {
      return { cid: (await run()).toString() }
    } catch (err) {
      return { error: (err as Error).name }
    }
  }
  const expected = await outcome(async () => await reference(root, edits, fs, store, shard))
  const actual = await outcome(async () => await edited(root, edits, fs, store, shard))
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    // name the first change where the two part
    for (let n = 1; n <= edits.length; n++) {
      const prefix = edits.slice(0, n)
      const a = await outcome(async () => await edited(root, prefix, fs, store, shard))
      const e = await outcome(async () => await reference(root, prefix, fs, store, shard))
      expect(a, `after ${JSON.stringify(prefix.map((e) => ({ ...e, cid: undefined })))}`).toEqual(e)
    }
  }
  expect(actual).toEqual(expected)
  return expected.cid === undefined ? root : CID.parse(expected.cid)
}

const DIRS = ['a', 'b', 'Ünï', 'with space']
const LEAVES = ['f', 'g', 'z9']

async function randomEdit (next: () => number, store: Blocks, version: 0 | 1, counter: { n: number }): Promise<TreeEdit> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] as T
  // mostly directories named from DIRS and files from LEAVES, now and then the other way round (which must fail alike)
  const dirs = (): string[] => Array.from({ length: Math.floor(next() * 3) }, () => pick(next() < 0.97 ? DIRS : LEAVES))
  const file = (): string => '/' + [...dirs(), pick(next() < 0.97 ? LEAVES : DIRS)].join('/')
  const dir = (): string => '/' + [...dirs(), pick(DIRS)].join('/')
  const any = (): string => next() < 0.5 ? file() : dir()
  const roll = next()
  if (roll < 0.35) return { op: 'put', path: file(), cid: await rawBlock(store, `content ${counter.n++}`, version) }
  if (roll < 0.47) return { op: 'mkdir', path: dir() }
  if (roll < 0.6) return { op: 'rm', path: any() }
  if (roll < 0.72) return next() < 0.5 ? { op: 'mv', from: file(), to: file() } : { op: 'mv', from: dir(), to: dir() }
  if (roll < 0.77) return { op: 'symlink', path: file(), target: `../${pick(LEAVES)}` }
  if (roll < 0.87) return { op: 'chmod', path: next() < 0.1 ? '/' : any(), mode: pick([0o644, 0o755, 0o600]) }
  return { op: 'touch', path: next() < 0.1 ? '/' : any(), mtimeMs: 1_700_000_000_000 + Math.floor(next() * 1e9) }
}

describe('TreeEditor', () => {
  beforeEach(() => { vi.spyOn(Date, 'now').mockReturnValue(1_760_000_000_123) })
  afterEach(() => { vi.restoreAllMocks() })

  for (const version of [1, 0] as const) {
    it(`gives the same root as @helia/unixfs one change at a time, CIDv${version}, random batches`, async () => {
      const seed = Number(process.env.TREE_SEED ?? 499)
      const next = prng(seed + version)
      const store = new Blocks()
      const shard = version === 1 ? SHARD_V1 : SHARD_V0
      const counter = { n: 0 }
      let root = await emptyDir(store, version)
      let changed = 0
      for (let batch = 0; batch < 80; batch++) {
        const size = 1 + Math.floor(next() * 12)
        const edits: TreeEdit[] = []
        for (let i = 0; i < size; i++) edits.push(await randomEdit(next, store, version, counter))
        // a new "now" per batch, so a directory's mtime shows each batch that moved it
        vi.spyOn(Date, 'now').mockReturnValue(1_760_000_000_123 + batch * 1_001)
        const after = await compare(root, edits, store, shard)
        if (!after.equals(root)) changed++
        root = after
      }
      // the batches did build a tree (a test that never changed anything proves nothing)
      expect(changed).toBeGreaterThan(50)
      const listing: string[] = []
      for await (const entry of (await exporter(root, store) as { entries: () => AsyncIterable<{ name: string }> }).entries()) listing.push(entry.name)
      expect(listing.length).toBeGreaterThan(0)
    })
  }

  // unixfs-v1-2025 counts the directory block's bytes; kubo-cid-v1 (Kubo's estimate) its links' bytes
  for (const [label, shard] of [['block bytes', SHARD_V1], ['link bytes', SHARD_V1_LINKS]] as const) {
    it(`builds and edits a HAMT-sharded directory as @helia/unixfs does, sharding by ${label}`, async () => {
      const store = new Blocks()
      const next = prng(7)
      const counter = { n: 0 }
      const long = (i: number): string => `${'n'.repeat(180)}-${i}`
      // a plain directory just under the threshold, with a subdirectory to edit below the shard
      const links: dagPb.PBLink[] = []
      for (let i = 0; i < 1_100; i++) {
        const cid = await rawBlock(store, `seed ${i}`, 1)
        links.push({ Name: long(i), Hash: cid, Tsize: `seed ${i}`.length })
      }
      const sub = await emptyDir(store, 1)
      links.push({ Name: 'sub', Hash: sub, Tsize: 4 })
      const bytes = dagPb.encode(dagPb.prepare({ Data: new UnixFSData({ type: 'directory' }).marshal(), Links: links }))
      const big = CID.createV1(dagPb.code, await sha256.digest(bytes))
      await store.put(big, bytes)
      let root = await compare(await emptyDir(store, 1), [{ op: 'put', path: '/big', cid: big }], store, shard)

      const isShard = async (): Promise<boolean> => {
        const entry = await exporter(`${root.toString()}/big`, store)
        return UnixFSData.unmarshal(dagPb.decode(await store.block(entry.cid)).Data as Uint8Array).type === 'hamt-sharded-directory'
      }
      expect(await isShard()).toBe(false)
      // crossing the threshold in one batch, with changes below a subdirectory
      const adds: TreeEdit[] = []
      for (let i = 1_100; i < 1_200; i++) adds.push({ op: 'put', path: `/big/${long(i)}`, cid: await rawBlock(store, `add ${i}`, 1) })
      adds.push({ op: 'put', path: '/big/sub/inner', cid: await rawBlock(store, 'inner', 1) })
      root = await compare(root, adds, store, shard)
      expect(await isShard()).toBe(true)

      // edits inside the shard: adds, removes, moves in and out, below a subdirectory, a file's mode
      for (let batch = 0; batch < 6; batch++) {
        const edits: TreeEdit[] = []
        for (let i = 0; i < 8; i++) {
          const roll = next()
          const n = Math.floor(next() * 1_170)
          if (roll < 0.3) edits.push({ op: 'put', path: `/big/${long(n)}`, cid: await rawBlock(store, `batch ${counter.n++}`, 1) })
          else if (roll < 0.5) edits.push({ op: 'rm', path: `/big/${long(n)}` })
          else if (roll < 0.65) edits.push({ op: 'mv', from: `/big/${long(n)}`, to: `/out-${n}` })
          else if (roll < 0.8) edits.push({ op: 'mv', from: `/out-${Math.floor(next() * 1_170)}`, to: `/big/back-${n}` })
          else if (roll < 0.9) edits.push({ op: 'put', path: `/big/sub/d${n}/f`, cid: await rawBlock(store, `deep ${counter.n++}`, 1) })
          else edits.push({ op: 'chmod', path: `/big/${long(n)}`, mode: 0o600 + (n % 8) })
        }
        root = await compare(root, edits, store, shard)
      }
      expect(await isShard()).toBe(true)

      // the shard's own mode and mtime (not compared: @helia/unixfs's chmod and touch drop the
      // shard's hash type, after which nothing can read it)
      const count = async (at: CID): Promise<number> => {
        let n = 0
        for await (const _ of (await exporter(`${at.toString()}/big`, store) as { entries: () => AsyncIterable<unknown> }).entries()) n++
        return n
      }
      const entries = await count(root)
      const moded = await edited(root, [{ op: 'chmod', path: '/big', mode: 0o700 }, { op: 'touch', path: '/big', mtimeMs: 1_700_000_000_500 }], unixfs({ blockstore: store }), store, shard)
      expect(await count(moded)).toBe(entries)
      const meta = UnixFSData.unmarshal(dagPb.decode(await store.block((await exporter(`${moded.toString()}/big`, store)).cid)).Data as Uint8Array)
      expect(meta.type).toBe('hamt-sharded-directory')
      expect(meta.mode).toBe(0o700)
      expect(meta.mtime).toEqual({ secs: 1_700_000_000n, nsecs: 500_000_000 })

      // back under the threshold by removals (whether the shard stays one is @helia/unixfs's call; both agree)
      const removes: TreeEdit[] = []
      for (let i = 0; i < 240; i += 2) removes.push({ op: 'rm', path: `/big/${long(i)}` })
      root = await compare(root, removes, store, shard)
      root = await compare(root, [{ op: 'put', path: '/big/again', cid: await rawBlock(store, 'again', 1) }], store, shard)
    })
  }

  it('fails like @helia/unixfs does where a change cannot apply, and leaves the rest alone', async () => {
    const store = new Blocks()
    const file = await rawBlock(store, 'a file', 1)
    let root = await compare(await emptyDir(store, 1), [{ op: 'put', path: '/f', cid: file }, { op: 'mkdir', path: '/d' }], store, SHARD_V1)
    // a file where a directory must be
    const before = root
    root = await compare(root, [{ op: 'put', path: '/f/x', cid: file }], store, SHARD_V1)
    expect(root.equals(before)).toBe(true)
    await expect(edited(root, [{ op: 'put', path: '/f/x', cid: file }], unixfs({ blockstore: store }), store, SHARD_V1)).rejects.toThrow(/not a directory/)
    // lenient where a replay may find things gone
    root = await compare(root, [{ op: 'rm', path: '/nope' }, { op: 'mv', from: '/nope', to: '/x' }, { op: 'chmod', path: '/f/x', mode: 0o600 }], store, SHARD_V1)
    expect(root.equals(before)).toBe(true)
  })
})
