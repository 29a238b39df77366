import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import * as rawCodec from 'multiformats/codecs/raw'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import { BlockStore } from '../../datanode/index.ts'
import { CairnClient, carBlockPrefix, carHeader, importDag, readClusterKey } from '../../core/index.ts'
import type { ProfileName } from '../../core/index.ts'
import { TestCluster, runCairn } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'
import { snapshot } from '../helpers/tree.ts'

let cluster: TestCluster
beforeAll(async () => { cluster = await TestCluster.start({ datanodes: 3 }) })
afterAll(async () => { await cluster?.stop() })

async function expectedRoot (bytes: Uint8Array, profile: ProfileName): Promise<string> {
  return (await importDag([{ content: bytes }], { put: async () => {} }, { profile })).root.toString()
}

const NOBODY = 65534

/**
 * A place to run the CLI as a user without root's way past permissions:
 * root writes into a read-only directory, which would hide a get that
 * applies a directory's mode before it has written the directory's children.
 * Tests run by root switch to nobody, unless nobody cannot run the CLI (a
 * checkout under a private home); then that check is lost (with a warning), not failed.
 */
async function unprivileged (): Promise<{ dir: string, cairn: (args: string[]) => ReturnType<typeof runCairn> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-user-'))
  const config = path.join(dir, 'config.json')
  await copyFile(cluster.configFile, config)
  await copyFile(cluster.keyFile, path.join(dir, 'cluster.key'))
  let as = {}
  if (process.getuid?.() === 0) {
    await chmod(dir, 0o755)
    for (const file of [dir, config, path.join(dir, 'cluster.key')]) await chown(file, NOBODY, NOBODY)
    const nobody = { uid: NOBODY, gid: NOBODY }
    if ((await runCairn(['--version'], { cwd: dir, ...nobody })).code === 0) as = nobody
    // said out loud: the checks these tests make of read-only directories are lost as root
    else console.warn(`round-trip: nobody (uid ${NOBODY}) cannot run the CLI from this checkout; get's read-only directory checks run as root, which ignores modes`)
  }
  return {
    dir,
    cairn: async (args) => await runCairn(['--config', config, ...args], { cwd: dir, ...as })
  }
}

async function modeOf (file: string): Promise<string> {
  return ((await lstat(file)).mode & 0o7777).toString(8)
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

  it('modes come back, read-only directories included, on a first get and on a get over the first', async () => {
    const big = await pseudoRandomBuffer(3 * 1024 * 1024 + 1, 'modes-big')
    const client = await cluster.client()
    let root: string
    try {
      root = (await client.put([
        { path: 't', mode: 0o755 },
        { path: 't/ro', mode: 0o555 },
        { path: 't/ro/a.txt', content: new TextEncoder().encode('in a read-only directory\n'), mode: 0o444 },
        { path: 't/ro/deeper', mode: 0o555 },
        { path: 't/ro/deeper/big.bin', content: big, mode: 0o640 },
        { path: 't/empty.txt', content: new Uint8Array(0), mode: 0o600 },
        { path: 't/empty-dir', mode: 0o700 },
        { path: 't/nested/x/y/z.txt', content: new TextEncoder().encode('deep\n') },
        { path: 't/link', link: 'ro/a.txt' }
      ], { replication: 2 })).root.toString()
    } finally {
      await client.close()
    }

    const user = await unprivileged()
    const out = path.join(user.dir, 'out')
    onTestFinished(async () => {
      // a user other than root cannot remove what is inside a read-only directory
      for (const dir of ['ro/deeper', 'ro']) await chmod(path.join(out, dir), 0o755).catch(() => {})
      await rm(user.dir, { recursive: true, force: true })
    })
    for (const round of ['first', 'over the first']) {
      const got = await user.cairn(['get', root, '-o', out, '--json'])
      expect(got.code, `${round}: ${got.stderr}`).toBe(0)
      expect(JSON.parse(got.stdout.toString()), round).toMatchObject({ files: 5, directories: 7, bytes: big.byteLength + 30 })
      expect(await snapshot(out), round).toEqual({
        'empty-dir': 'dir',
        'empty.txt': sha256(new Uint8Array(0)),
        link: '-> ro/a.txt',
        nested: 'dir',
        'nested/x': 'dir',
        'nested/x/y': 'dir',
        'nested/x/y/z.txt': sha256(Buffer.from('deep\n')),
        ro: 'dir',
        'ro/a.txt': sha256(Buffer.from('in a read-only directory\n')),
        'ro/deeper': 'dir',
        'ro/deeper/big.bin': sha256(big)
      })
      const modes: Record<string, string> = {}
      for (const name of ['', 'ro', 'ro/a.txt', 'ro/deeper', 'ro/deeper/big.bin', 'empty.txt', 'empty-dir']) modes[name] = await modeOf(path.join(out, name))
      expect(modes, round).toEqual({ '': '755', ro: '555', 'ro/a.txt': '444', 'ro/deeper': '555', 'ro/deeper/big.bin': '640', 'empty.txt': '600', 'empty-dir': '700' })
    }
  })

  it('a DAG that names a symlink and a directory alike cannot have get write outside its output', async () => {
    const outside = path.join(cluster.dir, 'outside')
    await mkdir(outside)
    const block = async (code: number, bytes: Uint8Array): Promise<{ cid: CID, bytes: Uint8Array }> => ({ cid: CID.createV1(code, await sha256Hasher.digest(bytes)), bytes })
    const node = async (unixfs: UnixFS, links: dagPb.PBLink[] = []): Promise<{ cid: CID, bytes: Uint8Array }> =>
      await block(dagPb.code, dagPb.encode({ Data: unixfs.marshal(), Links: links }))
    const file = await block(rawCodec.code, new TextEncoder().encode('written outside\n'))
    const link = await node(new UnixFS({ type: 'symlink', data: new TextEncoder().encode(outside) }))
    const dir = await node(new UnixFS({ type: 'directory' }), [{ Name: 'escaped.txt', Hash: file.cid, Tsize: file.bytes.byteLength }])
    const root = await node(new UnixFS({ type: 'directory' }), [
      { Name: 'd', Hash: link.cid, Tsize: link.bytes.byteLength },
      { Name: 'd', Hash: dir.cid, Tsize: dir.bytes.byteLength }
    ])
    const car = path.join(cluster.dir, 'escape.car')
    await writeFile(car, Buffer.concat([carHeader([root.cid]), ...[root, link, dir, file].flatMap((b) => [carBlockPrefix(b.cid, b.bytes.byteLength), b.bytes])]))
    const imported = await cluster.cairn(['import', '-r', '2', car])
    expect(imported.code, imported.stderr).toBe(0)

    const got = await cluster.cairn(['get', root.cid.toString(), '-o', path.join(cluster.dir, 'escape-out')])
    expect(got.code).not.toBe(0)
    // refused for the name twice, whichever of the two would have been written first
    expect(got.stderr.toString()).toContain('names "d" twice')
    expect(got.stderr).not.toContain('    at ')
    expect(existsSync(path.join(outside, 'escaped.txt'))).toBe(false)

    // the same two, one get after the other into one output: the second finds the first's symlink on disk
    const withLink = await node(new UnixFS({ type: 'directory' }), [{ Name: 'd', Hash: link.cid, Tsize: link.bytes.byteLength }])
    const withDir = await node(new UnixFS({ type: 'directory' }), [{ Name: 'd', Hash: dir.cid, Tsize: dir.bytes.byteLength }])
    const twoCar = path.join(cluster.dir, 'escape-two.car')
    await writeFile(twoCar, Buffer.concat([carHeader([withLink.cid, withDir.cid]), ...[withLink, withDir].flatMap((b) => [carBlockPrefix(b.cid, b.bytes.byteLength), b.bytes])]))
    expect((await cluster.cairn(['import', '-r', '2', twoCar])).code).toBe(0)
    const out = path.join(cluster.dir, 'escape-two-out')
    expect((await cluster.cairn(['get', withLink.cid.toString(), '-o', out])).code).toBe(0)
    const second = await cluster.cairn(['get', withDir.cid.toString(), '-o', out])
    expect(second.code).not.toBe(0)
    expect(second.stderr.toString()).toContain('exists and is not a directory')
    expect(existsSync(path.join(outside, 'escaped.txt'))).toBe(false)
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
