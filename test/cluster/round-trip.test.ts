import { mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import { BlockStore } from '../../datanode/index.ts'
import { CairnClient, importDag, readClusterKey } from '../../core/index.ts'
import type { ProfileName } from '../../core/index.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'
import { snapshot } from '../helpers/tree.ts'

let cluster: TestCluster
beforeAll(async () => { cluster = await TestCluster.start({ datanodes: 3 }) })
afterAll(async () => { await cluster?.stop() })

async function expectedRoot (bytes: Uint8Array, profile: ProfileName): Promise<string> {
  return (await importDag([{ content: bytes }], { put: async () => {} }, { profile })).root.toString()
}

async function allBlocks (bytes: Uint8Array, profile: ProfileName): Promise<CID[]> {
  const cids: CID[] = []
  await importDag([{ content: bytes }], { put: async (cid) => { cids.push(cid) } }, { profile })
  return cids
}

describe('put and get through a real cluster', () => {
  const cases: Array<[ProfileName, number[]]> = [
    ['unixfs-v1-2025', [0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17]],
    ['unixfs-v0-2015', [0, 1, 262144, 262145, 174 * 262144 + 1]],
    ['kubo-cid-v1', [1, 262145, 3 * 262144 + 17]]
  ]
  for (const [profile, sizes] of cases) {
    it(`${profile}: files of edge sizes come back byte-identical, under the reference CID`, async () => {
      for (const size of sizes) {
        const bytes = await pseudoRandomBuffer(size, `${profile}-${size}`)
        const file = path.join(cluster.dir, `in-${profile}-${size}`)
        await writeFile(file, bytes)
        const put = await cluster.cairn(['put', '--profile', profile, file])
        expect(put.stderr).toBe('')
        expect(put.code, put.stderr).toBe(0)
        const root = put.stdout.toString().trim()
        expect(root, `size ${size}`).toBe(await expectedRoot(bytes, profile))
        const out = path.join(cluster.dir, `out-${profile}-${size}`)
        const got = await cluster.cairn(['get', root, '-o', out])
        expect(got.code, got.stderr).toBe(0)
        expect(sha256(await readFile(out)), `size ${size}`).toBe(sha256(bytes))
      }
    }, 180_000)
  }

  it('reads from stdin and writes to stdout, with --offset and --length', async () => {
    const bytes = await pseudoRandomBuffer(2 * 1024 * 1024 + 5, 'stdin')
    const put = await cluster.cairn(['put', '-', '--quiet'], { input: bytes })
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()
    const whole = await cluster.cairn(['cat', root])
    expect(sha256(whole.stdout)).toBe(sha256(bytes))
    const part = await cluster.cairn(['cat', root, '--offset', '1048570', '--length', '100'])
    expect(Buffer.compare(part.stdout, bytes.subarray(1048570, 1048670))).toBe(0)
    const tail = await cluster.cairn(['cat', `/ipfs/${root}`, '--offset', String(bytes.length - 3), '--length', '100'])
    expect(Buffer.compare(tail.stdout, bytes.subarray(bytes.length - 3))).toBe(0)
  })

  it('directory trees (nested, empty dirs, UTF-8 names, symlinks) come back identical', async () => {
    const tree = path.join(cluster.dir, 'tree')
    await mkdir(path.join(tree, 'sub', 'empty'), { recursive: true })
    await mkdir(path.join(tree, 'ą', 'ę'), { recursive: true })
    await writeFile(path.join(tree, 'a.txt'), 'alpha\n')
    await writeFile(path.join(tree, 'ą', 'ę', 'file-źł.txt'), 'utf-8 names\n')
    await writeFile(path.join(tree, 'sub', 'big.bin'), await pseudoRandomBuffer(3 * 1024 * 1024, 'tree-big'))
    await writeFile(path.join(tree, '.hidden'), 'kept\n')
    await symlink('a.txt', path.join(tree, 'link'))
    const put = await cluster.cairn(['put', tree])
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()

    const out = path.join(cluster.dir, 'tree-out')
    expect((await cluster.cairn(['get', root, '-o', out])).code).toBe(0)
    expect(await snapshot(out)).toEqual(await snapshot(tree))

    const ls = await cluster.cairn(['ls', root])
    const names = ls.stdout.toString().trim().split('\n').map((l) => l.split(/\s{2,}/).at(-1))
    expect(names).toEqual(['.hidden', 'a.txt', 'link -> a.txt', 'sub/', 'ą/'])
    const nested = await cluster.cairn(['cat', `${root}/ą/ę/file-źł.txt`])
    expect(nested.stdout.toString()).toBe('utf-8 names\n')
    const sub = await cluster.cairn(['get', `${root}/sub`, '-o', path.join(cluster.dir, 'sub-out')])
    expect(sub.code).toBe(0)
    expect(existsSync(path.join(cluster.dir, 'sub-out', 'empty'))).toBe(true)

    // a file or symlink fetched to an existing directory goes inside it, as cp does; a directory merges
    const into = path.join(cluster.dir, 'into')
    await mkdir(into)
    const file = await cluster.cairn(['get', `/ipfs/${root}/a.txt`, '-o', into])
    expect(file.code, file.stderr).toBe(0)
    expect(file.stderr).toBe(`saved ${path.join(into, 'a.txt')} (6 B)\n`)
    expect(await readFile(path.join(into, 'a.txt'), 'utf8')).toBe('alpha\n')
    expect((await cluster.cairn(['get', `${root}/link`, '-o', into])).code).toBe(0)
    expect(await readlink(path.join(into, 'link'))).toBe('a.txt')
    const bare = (await cluster.cairn(['put', '-q', path.join(tree, 'a.txt')])).stdout.toString().trim()
    const json = JSON.parse((await cluster.cairn(['get', bare, '-o', into, '--json'])).stdout.toString()) as { path: string }
    expect(json.path).toBe(path.join(into, bare))
    expect((await cluster.cairn(['get', `${root}/sub`, '-o', into])).code).toBe(0)
    expect(existsSync(path.join(into, 'empty'))).toBe(true)
  })

  it('a directory big enough to shard round-trips', async () => {
    const tree = path.join(cluster.dir, 'big-dir')
    await mkdir(tree)
    for (let i = 0; i < 4_500; i++) {
      await writeFile(path.join(tree, `file-with-a-longish-name-${String(i).padStart(5, '0')}.txt`), `${i}\n`)
    }
    const put = await cluster.cairn(['put', '-r', '2', tree])
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()
    const out = path.join(cluster.dir, 'big-dir-out')
    const got = await cluster.cairn(['get', root, '-o', out])
    expect(got.code, got.stderr).toBe(0)
    expect(await snapshot(out)).toEqual(await snapshot(tree))
    const one = await cluster.cairn(['cat', `${root}/file-with-a-longish-name-04321.txt`])
    expect(one.stdout.toString()).toBe('4321\n')
  }, 180_000)

  it('with replication 3 on 3 datanodes, every block is on every datanode\'s disk', async () => {
    const bytes = await pseudoRandomBuffer(5 * 1024 * 1024 + 3, 'replicas')
    const file = path.join(cluster.dir, 'replicas.bin')
    await writeFile(file, bytes)
    const put = await cluster.cairn(['put', '-r', '3', file, '--json'])
    expect(put.code, put.stderr).toBe(0)
    expect(JSON.parse(put.stdout.toString())).toMatchObject({ copies: 3, replication: 3 })
    const cids = await allBlocks(bytes, 'unixfs-v1-2025')
    expect(cids.length).toBe(7)
    for (let i = 0; i < 3; i++) {
      const store = new BlockStore({ path: path.join(cluster.datanodeDir(i), 'blocks'), reservedBytes: 0 })
      for (const cid of cids) {
        const onDisk = await readFile(store.fileOf(cid))
        expect(onDisk.byteLength).toBeGreaterThan(0)
      }
    }
  })

  it('pins: put pins, pin ls lists, pin rm removes, stat tells', async () => {
    const file = path.join(cluster.dir, 'pinned.txt')
    await writeFile(file, 'pin me\n')
    const root = (await cluster.cairn(['put', file, '-r', '2'])).stdout.toString().trim()
    const list = JSON.parse((await cluster.cairn(['pin', 'ls', '--json'])).stdout.toString()) as Array<{ root: string, replication: number, label: string }>
    expect(list.find((p) => p.root === root)).toMatchObject({ replication: 2, label: 'pinned.txt' })
    const stat = JSON.parse((await cluster.cairn(['stat', root, '--json'])).stdout.toString())
    expect(stat).toMatchObject({ kind: 'file', size: 7, cluster: { pinned: 'direct', want: 2, blocks: 1, minReplicas: 2 } })
    const rm = await cluster.cairn(['pin', 'rm', root])
    expect(rm.code).toBe(0)
    expect((await cluster.cairn(['pin', 'ls', '-q'])).stdout.toString()).not.toContain(root)
    const missing = await cluster.cairn(['pin', 'rm', root])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain('is not pinned')
  })

  it('the block protocol also runs over libp2p (peers without the data channel)', async () => {
    const bytes = await pseudoRandomBuffer(3 * 1024 * 1024 + 11, 'libp2p-path')
    const client = await CairnClient.connect({
      namenode: cluster.namenodeAddress,
      clusterKey: await readClusterKey(cluster.keyFile),
      preferDataChannel: false
    })
    try {
      const put = await client.put([{ content: bytes }], { replication: 2 })
      expect(put.copies).toBe(2)
      const parts: Uint8Array[] = []
      for await (const part of client.cat({ root: put.root, segments: [] })) parts.push(part)
      expect(sha256(Buffer.concat(parts))).toBe(sha256(bytes))
    } finally {
      await client.close()
    }
  })

  it('report shows the datanodes, their usage and block counts', async () => {
    const report = JSON.parse((await cluster.cairn(['report', '--json'])).stdout.toString())
    expect(report.datanodes).toHaveLength(3)
    for (const dn of report.datanodes) {
      expect(dn.state).toBe('live')
      expect(dn.capacityBytes).toBeGreaterThan(0)
      expect(dn.blocks).toBeGreaterThan(0)
    }
    // every block here has between one and three copies, all on live datanodes
    expect(report.blocks.total).toBeGreaterThan(0)
    expect(report.blocks.replicas).toBeGreaterThanOrEqual(report.blocks.total)
    expect(report.blocks.replicas).toBeLessThanOrEqual(3 * report.blocks.total)
    const text = (await cluster.cairn(['report'])).stdout.toString()
    expect(text).toContain('3 live, 0 stale, 0 dead')
    expect(text).toContain('Status: HEALTHY')
  })
})
