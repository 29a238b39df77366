import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { exporter, recursive } from 'ipfs-unixfs-exporter'
import { importer } from 'ipfs-unixfs-importer'
import type { ImportCandidate, ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'
import { importDag } from '../../../core/index.ts'
import type { ProfileName } from '../../../core/index.ts'
import { pseudoRandom } from '../../helpers/data.ts'
import { KUBO_FIXTURES } from '../../helpers/fixtures.ts'
import { MemoryStore } from '../../helpers/memory-store.ts'

/**
 * Each profile's parameters, spelled out instead of naming the profile, so
 * a change in how Cairn (or the importer) maps a profile name shows up
 * here. kubo-cid-v1 is Kubo's `ipfs add --cid-version=1` with default
 * settings (boxo: size-262144 chunks, 174 links, raw leaves, HAMT by
 * estimated link bytes past 256 KiB).
 */
const EXPLICIT: Record<ProfileName, { chunk: number, links: number, options: ImporterOptions }> = {
  'unixfs-v1-2025': { chunk: 1024 * 1024, links: 1024, options: { cidVersion: 1, rawLeaves: true, shardSplitStrategy: 'block-bytes', shardSplitThresholdBytes: 262144 } },
  'unixfs-v0-2015': { chunk: 256 * 1024, links: 174, options: { cidVersion: 0, rawLeaves: false, shardSplitStrategy: 'links-bytes', shardSplitThresholdBytes: 262144 } },
  'kubo-cid-v1': { chunk: 256 * 1024, links: 174, options: { cidVersion: 1, rawLeaves: true, shardSplitStrategy: 'links-bytes', shardSplitThresholdBytes: 262144 } }
}
const ALL = Object.keys(EXPLICIT) as ProfileName[]

const discard = { put: async () => {} }

async function cairnRoot (candidates: ImportCandidate[] | (() => AsyncIterable<ImportCandidate>), profile: ProfileName): Promise<string> {
  const source = typeof candidates === 'function' ? candidates() : candidates
  return (await importDag(source, discard, { profile })).root.toString()
}

async function referenceRoot (candidates: ImportCandidate[] | (() => AsyncIterable<ImportCandidate>), profile: ProfileName): Promise<string> {
  const { chunk, links, options } = EXPLICIT[profile]
  const source = typeof candidates === 'function' ? candidates() : candidates
  let root = ''
  for await (const entry of importer(source, { put: async (cid: CID) => cid }, {
    ...options,
    chunker: fixedSize({ chunkSize: chunk }),
    layout: balanced({ maxChildrenPerNode: links })
  })) root = entry.cid.toString()
  return root
}

describe('CIDs equal Kubo\'s', () => {
  it('matches the published IPIP-499 vectors', async () => {
    const hello = new TextEncoder().encode('hello world')
    expect(await cairnRoot([{ content: hello }], 'unixfs-v1-2025')).toBe('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
    expect(await cairnRoot([{ content: hello }], 'unixfs-v0-2015')).toBe('Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD')
    expect(await cairnRoot([{ content: new Uint8Array(0) }], 'unixfs-v0-2015')).toBe('QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH')
    // a file of one chunk under --cid-version=1 is a single raw block, as under unixfs-v1-2025
    expect(await cairnRoot([{ content: hello }], 'kubo-cid-v1')).toBe('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
  })

  for (const profile of ALL) {
    const { chunk, links } = EXPLICIT[profile]
    const sizes = [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 17, links * chunk, links * chunk + 1]
    it(`${profile}: files of edge sizes (0 .. links x chunk + 1) match the reference importer`, async () => {
      for (const size of sizes) {
        const file = (): AsyncIterable<ImportCandidate> => (async function * () { yield { content: pseudoRandom(size, `edge-${size}`) } })()
        expect(await cairnRoot(file, profile), `${profile} size ${size}`).toBe(await referenceRoot(file, profile))
      }
    }, 300_000)
  }

  it('directory trees: nested, empty directories, UTF-8 names, symlinks', async () => {
    const tree = (): ImportCandidate[] => [
      { path: 'root' },
      { path: 'root/a.txt', content: new TextEncoder().encode('alpha') },
      { path: 'root/empty' },
      { path: 'root/deep/er/still', content: new TextEncoder().encode('deep') },
      { path: 'root/ą/ę/file-źł.txt', content: new TextEncoder().encode('utf-8') },
      { path: 'root/日本語.md', content: new Uint8Array(300_000).fill(7) },
      { path: 'root/link', link: 'a.txt' }
    ]
    for (const profile of ALL) {
      expect(await cairnRoot(tree(), profile)).toBe(await referenceRoot(tree(), profile))
    }
  })

  it('a directory big enough to shard becomes a HAMT, with the same root as the reference', async () => {
    // ~4,500 links of ~70 bytes pass the 256 KiB threshold
    const tree = (): ImportCandidate[] => [
      { path: 'big' },
      ...Array.from({ length: 4_500 }, (_, i) => ({ path: `big/file-with-a-longish-name-${String(i).padStart(5, '0')}.txt`, content: new TextEncoder().encode(String(i)) }))
    ]
    for (const profile of ['unixfs-v1-2025', 'kubo-cid-v1'] as const) {
      const store = new MemoryStore()
      const { root } = await importDag(tree(), store, { profile })
      const entry = await exporter(root, store)
      expect(entry.type).toBe('directory')
      expect(entry.type === 'directory' && entry.unixfs.type, profile).toBe('hamt-sharded-directory')
      expect(root.toString(), profile).toBe(await referenceRoot(tree(), profile))
    }
  })

  it('re-importing the trees of Kubo-made CARs gives Kubo\'s roots', async () => {
    // CIDv1 directories of small files: the same under Kubo's v1 defaults and unixfs-v1-2025
    const cars = ['dir_listing/fixtures.car', 'gateway-cache/fixtures.car', 'path_gateway_tar/fixtures.car', 'path_gateway_unixfs/symlink.car']
    for (const car of cars) {
      const { store, roots } = await MemoryStore.fromCar(path.join(KUBO_FIXTURES, car))
      const root = roots[0] as CID
      const candidates: ImportCandidate[] = []
      for await (const item of recursive(root, store)) {
        const entry = await exporter(item.cid, store)
        const rel = item.path.split('/').slice(1).join('/')
        const at = rel === '' ? 'top' : `top/${rel}`
        if (entry.type === 'directory') candidates.push({ path: at })
        else if (entry.type === 'file' && entry.unixfs.type === 'symlink') {
          candidates.push({ path: at, link: new TextDecoder().decode(entry.unixfs.data) })
        } else if (entry.type === 'file' || entry.type === 'raw') {
          const parts: Uint8Array[] = []
          for await (const part of entry.content()) parts.push(part)
          candidates.push({ path: at, content: Buffer.concat(parts) })
        }
      }
      const profiles = root.version === 0 ? ['unixfs-v0-2015'] as const : ['unixfs-v1-2025', 'kubo-cid-v1'] as const
      for (const profile of profiles) expect(await cairnRoot(candidates, profile), `${car} (${profile})`).toBe(root.toString())
    }
  })
})
