import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS as UnixFSData } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import {
  CairnClient, Keystore, NameTree, createRecord, importDag, parseName, publish, readClusterKey
} from '../../core/index.ts'
import type { ImportCandidate } from 'ipfs-unixfs-importer'
import { MemoryStore } from '../helpers/memory-store.ts'
import { KUBO_FIXTURES } from '../helpers/fixtures.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'

let cluster: TestCluster
beforeAll(async () => {
  cluster = await TestCluster.start({ datanodes: 2, namenodeArgs: ['--name-history', '3', '--gc-grace', '0'], datanodeArgs: () => ['--gc-grace', '0'] })
})
afterAll(async () => { await cluster?.stop() })

async function put (bytes: Uint8Array): Promise<string> {
  const run = await cluster.cairn(['put', '-', '-r', '2'], { input: bytes })
  expect(run.code, run.stderr).toBe(0)
  return run.stdout.toString().trim()
}

async function client (): Promise<CairnClient> {
  return await CairnClient.connect({ namenode: cluster.namenodeAddress, clusterKey: await readClusterKey(cluster.keyFile) })
}

function keystore (): Keystore {
  return new Keystore(path.join(cluster.dir, '.cairn', 'keys'))
}

describe('keys', () => {
  it('makes a self key, generates, lists, exports, imports and removes keys, each readable by the owner only', async () => {
    const ls = await cluster.cairn(['key', 'ls', '--json'])
    expect(ls.code, ls.stderr).toBe(0)
    const keys = JSON.parse(ls.stdout.toString()) as Array<{ key: string, name: string }>
    expect(keys.map((k) => k.key)).toContain('self')
    expect(keys[0]?.name).toMatch(/^k51/)

    const gen = await cluster.cairn(['key', 'gen', 'blog'])
    expect(gen.code, gen.stderr).toBe(0)
    const name = gen.stdout.toString().trim()
    expect(name).toMatch(/^k51qzi5uqu5d/)
    expect((await cluster.cairn(['key', 'gen', 'blog'])).code).toBe(2)
    for (const file of await readdir(path.join(cluster.dir, '.cairn', 'keys'))) {
      expect(((await stat(path.join(cluster.dir, '.cairn', 'keys', file))).mode & 0o777).toString(8)).toBe('600')
    }
    const exported = path.join(cluster.dir, 'blog.key')
    expect((await cluster.cairn(['key', 'export', 'blog', '-o', exported])).code).toBe(0)
    expect((await cluster.cairn(['key', 'rm', 'blog'])).code).toBe(0)
    const imported = await cluster.cairn(['key', 'import', 'blog2', exported])
    expect(imported.stdout.toString().trim()).toBe(name)
    expect((await cluster.cairn(['key', 'rm', 'self'])).code).toBe(2)
  })
})

describe('names', () => {
  it('Kubo\'s record vectors: the valid ones import and resolve, the invalid ones are refused with a reason', async () => {
    const dir = path.join(KUBO_FIXTURES, 'ipns_records')
    const outcomes: Record<string, string> = {}
    for (const file of await readdir(dir)) {
      const [name, variant] = file.replace('.ipns-record', '').split('_') as [string, string]
      const run = await cluster.cairn(['name', 'import', name, path.join(dir, file)])
      if (run.code === 0) {
        const cat = await cluster.cairn(['cat', `/ipns/${name}`])
        expect(cat.code, cat.stderr).toBe(0)
        outcomes[variant] = `ok: ${cat.stdout.toString()}`
      } else {
        expect(run.code).toBe(5)
        expect(run.stderr).toMatch(/not valid: its signature does not verify/)
        outcomes[variant] = 'refused'
      }
    }
    expect(Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [k, v.startsWith('ok') ? 'ok' : v]))).toEqual({
      v2: 'ok', 'v1-v2': 'ok', 'v1-v2-broken-signature-v1': 'ok',
      v1: 'refused', 'v1-v2-broken-signature-v2': 'refused', 'v1-v2-broken-v1-value': 'refused'
    })
    expect(outcomes.v2).toContain('v2-only record')
  })

  it('publish, resolve, republish, resolve; every path form works; history keeps old values', async () => {
    const dirFile = path.join(cluster.dir, 'site')
    await import('node:fs/promises').then(async (fs) => { await fs.mkdir(path.join(dirFile, 'a', 'b'), { recursive: true }) })
    await writeFile(path.join(dirFile, 'a', 'b', 'page.txt'), 'version one\n')
    const v1 = (await cluster.cairn(['put', dirFile])).stdout.toString().trim()
    await writeFile(path.join(dirFile, 'a', 'b', 'page.txt'), 'version two\n')
    const v2 = (await cluster.cairn(['put', dirFile])).stdout.toString().trim()

    const first = await cluster.cairn(['name', 'publish', v1, '--json'])
    expect(first.code, first.stderr).toBe(0)
    const { name, sequence } = JSON.parse(first.stdout.toString()) as { name: string, sequence: number }
    expect((await cluster.cairn(['name', 'resolve'])).stdout.toString().trim()).toBe(`/ipfs/${v1}`)
    expect((await cluster.cairn(['name', 'publish', v2])).code).toBe(0)
    expect((await cluster.cairn(['name', 'resolve', name])).stdout.toString().trim()).toBe(`/ipfs/${v2}`)
    expect((await cluster.cairn(['name', 'resolve', `/ipns/${name}/a/b`])).stdout.toString().trim()).toBe(`/ipfs/${v2}/a/b`)

    for (const target of [`/ipns/${name}/a/b/page.txt`, `/ipns/self/a/b/page.txt`, `ipns://${name}/a/b/page.txt`]) {
      expect((await cluster.cairn(['cat', target])).stdout.toString()).toBe('version two\n')
    }
    expect((await cluster.cairn(['cat', `/ipns/${name}@${sequence}/a/b/page.txt`])).stdout.toString()).toBe('version one\n')
    expect((await cluster.cairn(['ls', `/ipns/${name}/a/b`])).stdout.toString()).toContain('page.txt')
    const got = path.join(cluster.dir, 'got-site')
    expect((await cluster.cairn(['get', `/ipns/${name}/a`, '-o', got])).code).toBe(0)
    expect(await readFile(path.join(got, 'b', 'page.txt'), 'utf8')).toBe('version two\n')
    const history = JSON.parse((await cluster.cairn(['name', 'history', '--json'])).stdout.toString()) as Array<{ value: string }>
    expect(history.slice(0, 2).map((h) => h.value)).toEqual([`/ipfs/${v2}`, `/ipfs/${v1}`])

    // a name that points to a name
    const gen = (await cluster.cairn(['key', 'gen', 'alias'])).stdout.toString().trim()
    expect((await cluster.cairn(['name', 'publish', '--key', 'alias', `/ipns/${name}/a`])).code).toBe(0)
    expect((await cluster.cairn(['cat', `/ipns/${gen}/b/page.txt`])).stdout.toString()).toBe('version two\n')
  })

  it('refuses a replayed record, a tampered record, an expired record, and a stale compare-and-swap', async () => {
    const a = await put(await pseudoRandomBuffer(1000, 'ra'))
    const b = await put(await pseudoRandomBuffer(1000, 'rb'))
    await cluster.cairn(['key', 'gen', 'rec'])
    expect((await cluster.cairn(['name', 'publish', '--key', 'rec', a])).code).toBe(0)
    const old = path.join(cluster.dir, 'old.record')
    expect((await cluster.cairn(['name', 'export', 'rec', '-o', old])).code).toBe(0)
    expect((await cluster.cairn(['name', 'publish', '--key', 'rec', b])).code).toBe(0)
    const name = (await keystore().info('rec')).name.text

    const replay = await cluster.cairn(['name', 'import', name, old])
    expect(replay.code).toBe(7)
    expect(replay.stderr).toMatch(/sequence 0: the current one is 1/)

    const tampered = Buffer.from(await readFile(old))
    const at = tampered.indexOf('/ipfs/') + 12
    tampered[at] = (tampered[at] as number) ^ 1
    await writeFile(path.join(cluster.dir, 'bad.record'), tampered)
    const bad = await cluster.cairn(['name', 'import', name, path.join(cluster.dir, 'bad.record')])
    expect(bad.code).toBe(5)
    expect(bad.stderr).toContain('not valid')

    const key = await keystore().get('rec')
    const expired = await createRecord(key, { value: `/ipfs/${a}`, sequence: 99n, lifetimeMs: 1 })
    await new Promise((resolve) => setTimeout(resolve, 20))
    await writeFile(path.join(cluster.dir, 'expired.record'), expired)
    const late = await cluster.cairn(['name', 'import', name, path.join(cluster.dir, 'expired.record')])
    expect(late.code).toBe(5)
    expect(late.stderr).toContain('it has expired')

    const stale = await cluster.cairn(['name', 'publish', '--key', 'rec', '--expect', `/ipfs/${a}`, a])
    expect(stale.code).toBe(7)
    expect(stale.stderr).toContain('no longer points to')
    const fresh = await cluster.cairn(['name', 'publish', '--key', 'rec', '--expect', `/ipfs/${b}`, a])
    expect(fresh.code, fresh.stderr).toBe(0)
  })

  it('keeps what a name points to (and its recent history) even when nothing else pins it', async () => {
    const bytes = await pseudoRandomBuffer(2 * 1024 * 1024 + 7, 'kept')
    const root = await put(bytes)
    await cluster.cairn(['key', 'gen', 'keeper'])
    expect((await cluster.cairn(['name', 'publish', '--key', 'keeper', '-r', '2', root])).code).toBe(0)
    expect((await cluster.cairn(['pin', 'rm', root])).code).toBe(0)
    expect((await cluster.cairn(['gc'])).code).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const name = (await keystore().info('keeper')).name.text
    expect(sha256((await cluster.cairn(['cat', `/ipns/${name}`])).stdout)).toBe(sha256(bytes))

    // history is 3 long here: after three more values the first one is let go, and gc may take it
    for (let i = 0; i < 3; i++) expect((await cluster.cairn(['name', 'publish', '--key', 'keeper', await put(await pseudoRandomBuffer(100, `h${i}`))])).code).toBe(0)
    const gc = JSON.parse((await cluster.cairn(['gc', '--json'])).stdout.toString()) as { blocks: number }
    expect(gc.blocks).toBeGreaterThanOrEqual(3)
  })

  it('two writers editing one name at once: every update lands', async () => {
    await cluster.cairn(['key', 'gen', 'shared'])
    const key = await keystore().get('shared')
    const [one, two] = [await client(), await client()]
    try {
      const writer = async (c: CairnClient, who: string): Promise<void> => {
        const tree = new NameTree(c.context, { key, replication: 2 })
        for (let i = 0; i < 6; i++) await tree.write(`/${who}-${i}.txt`, [{ content: new TextEncoder().encode(`${who} ${i}`) }])
      }
      await Promise.all([writer(one, 'alpha'), writer(two, 'beta')])
      const listing = await new NameTree(one.context, { key }).ls('/')
      expect(listing.map((e) => e.name).sort()).toEqual([
        ...[0, 1, 2, 3, 4, 5].map((i) => `alpha-${i}.txt`), ...[0, 1, 2, 3, 4, 5].map((i) => `beta-${i}.txt`)
      ].sort())
      const name = parseName((await keystore().info('shared')).name.text).text
      expect((await cluster.cairn(['cat', `/ipns/${name}/beta-3.txt`])).stdout.toString()).toBe('beta 3')
    } finally {
      await one.close()
      await two.close()
    }
  })

  it('a tree that starts from its own last publish redoes the change when another writer got in between', async () => {
    await cluster.cairn(['key', 'gen', 'kept'])
    const key = await keystore().get('kept')
    const [one, two] = [await client(), await client()]
    try {
      const file = async (c: CairnClient, text: string): Promise<CID> => await new NameTree(c.context, { key }).storeFile([{ content: new TextEncoder().encode(text) }], 'test')
      const a = new NameTree(one.context, { key, replication: 2 })
      const b = new NameTree(two.context, { key, replication: 2 })
      await a.apply([{ op: 'put', path: '/x', cid: await file(one, 'x') }, { op: 'mkdir', path: '/d' }])
      // b removes what a's kept tree still holds, and adds below a directory a has loaded
      await b.apply([{ op: 'rm', path: '/x' }, { op: 'put', path: '/d/y', cid: await file(two, 'y') }])
      const third = await a.apply([{ op: 'put', path: '/d/z', cid: await file(one, 'z') }])
      expect(third.sequence).toBe(2n)
      const reader = new NameTree(one.context, { key })
      expect((await reader.ls('/')).map((e) => e.name)).toEqual(['d'])
      expect((await reader.ls('/d')).map((e) => e.name).sort()).toEqual(['y', 'z'])
      // and from its own publish again, with no one in between
      await a.apply([{ op: 'mv', from: '/d/y', to: '/y' }])
      expect((await reader.ls('/')).map((e) => e.name).sort()).toEqual(['d', 'y'])
      expect((await reader.ls('/d')).map((e) => e.name)).toEqual(['z'])
    } finally {
      await one.close()
      await two.close()
    }
  })

  it('refuses to point a name at a tree the cluster does not hold, also when most of it is the name\'s current tree', async () => {
    await cluster.cairn(['key', 'gen', 'partial'])
    const key = await keystore().get('partial')
    const c = await client()
    try {
      const tree = new NameTree(c.context, { key, replication: 2 })
      const file = await tree.storeFile([{ content: new TextEncoder().encode('kept') }], 'test')
      const { root: current } = await tree.apply([{ op: 'mkdir', path: '/d' }, { op: 'put', path: '/d/a', cid: file }])
      // a new root over the current tree, indexed by the publish but never stored
      const bytes = dagPb.encode(dagPb.prepare({ Data: new UnixFSData({ type: 'directory' }).marshal(), Links: [{ Name: 'old', Hash: current }] }))
      const lost = CID.createV1(dagPb.code, await sha256Hasher.digest(bytes))
      const name = (await keystore().info('partial')).name.text
      const attempt = publish(c.context, key, { value: `/ipfs/${lost.toString()}`, expect: `/ipfs/${current.toString()}`, nodes: [{ cid: lost, bytes }] })
      await expect(attempt).rejects.toThrow(/1 of the 1 new blocks of .* are on no live datanode/)
      expect((await cluster.cairn(['name', 'resolve', name])).stdout.toString().trim()).toBe(`/ipfs/${current.toString()}`)
    } finally {
      await c.close()
    }
  })

  it('files: write, mkdir, mv, cp, rm behave like a filesystem, with clear errors', async () => {
    await cluster.cairn(['key', 'gen', 'fs'])
    const run = async (...args: string[]) => await cluster.cairn(['files', ...args])
    expect((await run('mkdir', '-p', 'fs:/docs/2026')).code).toBe(0)
    expect((await run('mkdir', 'fs:/docs')).code).toBe(2)
    expect((await cluster.cairn(['files', 'write', 'fs:/docs/2026/a.txt', '-'], { input: 'alpha' })).code).toBe(0)
    expect((await cluster.cairn(['files', 'write', 'fs:/nope/a.txt', '-'], { input: 'x' })).code).toBe(3)
    expect((await cluster.cairn(['files', 'write', '-p', 'fs:/deep/er/b.txt', '-'], { input: 'beta' })).code).toBe(0)
    expect((await run('mv', 'fs:/docs/2026/a.txt', 'fs:/docs/renamed.txt')).code).toBe(0)
    expect((await run('cp', 'fs:/deep/er/b.txt', 'fs:/docs')).code).toBe(0)
    const rmBusy = await run('rm', 'fs:/docs')
    expect(rmBusy.code).toBe(2)
    expect(rmBusy.stderr).toContain('with entries')
    expect((await run('rm', 'fs:/docs/2026')).code).toBe(0)
    const name = (await keystore().info('fs')).name.text
    expect((await cluster.cairn(['cat', `/ipns/${name}/docs/renamed.txt`])).stdout.toString()).toBe('alpha')
    expect((await cluster.cairn(['cat', `/ipns/${name}/docs/b.txt`])).stdout.toString()).toBe('beta')
    const ls = JSON.parse((await run('ls', 'fs:/docs', '--json')).stdout.toString()) as Array<{ name: string }>
    expect(ls.map((e) => e.name).sort()).toEqual(['b.txt', 'renamed.txt'])
    expect((await run('rm', '-r', 'fs:/deep')).code).toBe(0)
    expect((await cluster.cairn(['cat', `/ipns/${name}/deep/er/b.txt`])).code).toBe(3)
  })

  it('files: edits inside a HAMT-sharded directory give the root a fresh import of the same tree gives', async () => {
    // 1,200 links of ~250 bytes pass the 256 KiB threshold, so the directory is a HAMT
    const names = Array.from({ length: 1_200 }, (_, i) => `${'a-long-name-'.repeat(16)}${String(i).padStart(5, '0')}.txt`)
    const dir = path.join(cluster.dir, 'big')
    await mkdir(dir, { recursive: true })
    for (const name of names) await writeFile(path.join(dir, name), name)
    const root = (await cluster.cairn(['put', '-q', '-r', '2', dir])).stdout.toString().trim()
    await cluster.cairn(['key', 'gen', 'shard'])
    expect((await cluster.cairn(['name', 'publish', '--key', 'shard', root])).code).toBe(0)

    expect((await cluster.cairn(['files', 'write', 'shard:/added.txt', '-'], { input: 'added' })).code).toBe(0)
    expect((await cluster.cairn(['files', 'rm', `shard:/${names[7] as string}`])).code).toBe(0)
    expect((await cluster.cairn(['files', 'mv', `shard:/${names[8] as string}`, 'shard:/moved.txt'])).code).toBe(0)

    const expected: ImportCandidate[] = [{ path: 'big' }]
    const enc = new TextEncoder()
    for (const [i, name] of names.entries()) {
      if (i === 7) continue
      expected.push({ path: `big/${i === 8 ? 'moved.txt' : name}`, content: enc.encode(name) })
    }
    expected.push({ path: 'big/added.txt', content: enc.encode('added') })
    const { root: want } = await importDag(expected, new MemoryStore(), { profile: 'unixfs-v1-2025' })
    const resolved = (await cluster.cairn(['name', 'resolve', 'shard'])).stdout.toString().trim()
    expect(resolved).toBe(`/ipfs/${want.toString()}`)
    const name = (await keystore().info('shard')).name.text
    expect((await cluster.cairn(['cat', `/ipns/${name}/moved.txt`])).stdout.toString()).toBe(names[8])
    expect((await cluster.cairn(['stat', `/ipns/${name}`, '--json'])).stdout.toString()).toMatch(/"sharded":true/)
  }, 300_000)

  it('names and their history survive a namenode kill -9', async () => {
    const root = await put(await pseudoRandomBuffer(500, 'survive'))
    await cluster.cairn(['key', 'gen', 'durable'])
    expect((await cluster.cairn(['name', 'publish', '--key', 'durable', root])).code).toBe(0)
    const name = (await keystore().info('durable')).name.text
    await cluster.killNamenode()
    await cluster.startNamenode()
    await cluster.waitForLive(2)
    expect((await cluster.cairn(['name', 'resolve', name])).stdout.toString().trim()).toBe(`/ipfs/${root}`)
    expect((await cluster.cairn(['name', 'history', 'durable'])).stdout.toString()).toContain(root)
  })
})
