import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import { CairnClient, RpcPeer, connectData, deriveDataKey, generateClusterKey, importDag, readClusterKey } from '../../core/index.ts'
import type { ClusterReport } from '../../core/index.ts'
import { BlockStore } from '../../datanode/index.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'
import { snapshot } from '../helpers/tree.ts'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

async function putFile (c: TestCluster, name: string, bytes: Uint8Array, args: string[] = []): Promise<string> {
  const file = path.join(c.dir, name)
  await writeFile(file, bytes)
  const put = await c.cairn(['put', ...args, file])
  expect(put.code, put.stderr).toBe(0)
  return put.stdout.toString().trim()
}

async function leaves (bytes: Uint8Array): Promise<CID[]> {
  const cids: CID[] = []
  await importDag([{ content: bytes }], { put: async (cid) => { if (cid.code === 0x55) cids.push(cid) } }, {})
  return cids
}

describe('failures', () => {
  it('get fails over to another copy when a datanode is killed', async () => {
    cluster = await TestCluster.start({ datanodes: 3 })
    const bytes = await pseudoRandomBuffer(8 * 1024 * 1024, 'failover')
    const root = await putFile(cluster, 'f.bin', bytes, ['-r', '3'])
    await cluster.stopDatanode(0, 'SIGKILL')
    const out = path.join(cluster.dir, 'f.out')
    const got = await cluster.cairn(['get', root, '-o', out])
    expect(got.code, got.stderr).toBe(0)
    expect(sha256(await readFile(out))).toBe(sha256(bytes))
  })

  it('a copy altered on disk is never believed: reads find it, it is replaced, and with no good copy a get fails cleanly', async () => {
    // the scanner is off so that reads are what find the rot
    cluster = await TestCluster.start({ datanodes: 3, datanodeArgs: () => ['--scan-rate', '0'] })
    const c = cluster
    const bytes = await pseudoRandomBuffer(4 * 1024 * 1024, 'rot')
    const root = await putFile(c, 'r.bin', bytes, ['-r', '3'])
    const victim = (await leaves(bytes))[1] as CID
    const stores = [0, 1, 2].map((i) => new BlockStore({ path: path.join(c.datanodeDir(i), 'blocks'), reservedBytes: 0 }))
    const flip = async (store: BlockStore): Promise<void> => {
      const file = store.fileOf(victim)
      const data = await readFile(file)
      data[12345] = (data[12345] as number) ^ 0xff
      await writeFile(file, data)
    }
    await flip(stores[0] as BlockStore)
    await flip(stores[1] as BlockStore)

    // asked directly, each datanode with a rotten copy refuses to serve it (and reports it)
    const key = deriveDataKey(await readClusterKey(c.keyFile))
    const report = JSON.parse((await c.cairn(['report', '--json'])).stdout.toString()) as ClusterReport
    const answers: string[] = []
    for (const dn of report.datanodes) {
      const peer = new RpcPeer(await connectData({ host: dn.data!.host, port: dn.data!.port, key, label: dn.id }))
      answers.push(await peer.call('block.get', { cid: victim }).then(() => 'served', (err: Error) => err.name))
      await peer.close()
    }
    expect(answers.sort()).toEqual(['BlockCorruptError', 'BlockCorruptError', 'served'])

    // the namenode copies the good one back
    await c.waitFor(async (client) => (await client.namenode.stat(victim)).minReplicas === 3, 'the rotten copies to be replaced')
    const out = path.join(c.dir, 'r.out')
    const got = await c.cairn(['get', root, '-o', out])
    expect(got.code, got.stderr).toBe(0)
    expect(sha256(await readFile(out))).toBe(sha256(bytes))

    // every copy rotten at once: the get fails with a clear error and writes nothing
    for (const store of stores) await flip(store)
    const bad = path.join(c.dir, 'r.bad')
    const failed = await c.cairn(['get', root, '-o', bad])
    expect(failed.code).not.toBe(0)
    expect(failed.stderr).toMatch(/cairn: error: .*block/)
    expect(failed.stderr).not.toContain('    at ')
    expect(existsSync(bad)).toBe(false)
    const fsck = await c.cairn(['fsck'])
    expect(fsck.code).toBe(5)
    expect(fsck.stdout.toString()).toMatch(/corrupt/)
  })

  it('a get of a tree that fails midway stops, leaves no temp file, and every file it leaves is whole', async () => {
    cluster = await TestCluster.start({ datanodes: 2, datanodeArgs: () => ['--scan-rate', '0'] })
    const c = cluster
    const tree = path.join(c.dir, 'tree')
    await mkdir(path.join(tree, 'sub'), { recursive: true })
    const bigs: Buffer[] = []
    for (let i = 0; i < 6; i++) {
      bigs.push(await pseudoRandomBuffer(3 * 1024 * 1024 + i, `midway-${i}`))
      await writeFile(path.join(tree, i % 2 === 0 ? 'sub' : '', `big-${i}.bin`), bigs[i] as Buffer)
    }
    for (let i = 0; i < 200; i++) await writeFile(path.join(tree, i % 2 === 0 ? 'sub' : '', `small-${i}.txt`), `${i}\n`)
    const put = await c.cairn(['put', '-r', '2', tree])
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()

    // a block in the middle of one file rotten on both datanodes: that file fails after part of it is written
    const victim = (await leaves(bigs[3] as Buffer))[2] as CID
    for (const i of [0, 1]) {
      const file = new BlockStore({ path: path.join(c.datanodeDir(i), 'blocks'), reservedBytes: 0 }).fileOf(victim)
      const data = await readFile(file)
      data[100] = (data[100] as number) ^ 0xff
      await writeFile(file, data)
    }
    const out = path.join(c.dir, 'out')
    const failed = await c.cairn(['get', root, '-o', out])
    expect(failed.code).not.toBe(0)
    expect(failed.stderr).toMatch(/cairn: error: .*block/)
    expect(failed.stderr).not.toContain('    at ')
    const left = await snapshot(out)
    const expected = await snapshot(tree)
    expect(Object.keys(left).filter((name) => name.includes('.cairn-'))).toEqual([])
    expect(left).not.toHaveProperty('big-3.bin')
    for (const [name, hash] of Object.entries(left)) expect(hash, name).toBe(expected[name])

    // a small file (written in one go) whose name is taken by a non-empty directory: a clear error, no temp file
    const small = path.join(c.dir, 'small-tree')
    await mkdir(small)
    await writeFile(path.join(small, 'taken.txt'), 'mine\n')
    const smallPut = await c.cairn(['put', '-r', '2', small])
    expect(smallPut.code, smallPut.stderr).toBe(0)
    const over = path.join(c.dir, 'over')
    await mkdir(path.join(over, 'taken.txt', 'occupied'), { recursive: true })
    const clash = await c.cairn(['get', smallPut.stdout.toString().trim(), '-o', over])
    expect(clash.code).not.toBe(0)
    expect(clash.stderr).toMatch(/cairn: error: .*taken\.txt/)
    expect(clash.stderr).not.toContain('    at ')
    expect((await readdir(over)).filter((name) => name.includes('.cairn-'))).toEqual([])
  })

  it('a namenode killed with -9 comes back with every acknowledged pin, and the data is gettable', async () => {
    cluster = await TestCluster.start({ datanodes: 3 })
    const files = await Promise.all([1, 2, 3].map(async (i) => await pseudoRandomBuffer(i * 700_000, `nn-${i}`)))
    const roots: string[] = []
    for (const [i, bytes] of files.entries()) roots.push(await putFile(cluster, `nn-${i}`, bytes))
    await cluster.killNamenode()
    await cluster.startNamenode()
    await cluster.waitForLive(3)
    const pins = (await cluster.cairn(['pin', 'ls', '-q'])).stdout.toString()
    for (const root of roots) expect(pins).toContain(root)
    for (const [i, root] of roots.entries()) {
      const got = await cluster.cairn(['cat', root])
      expect(got.code, got.stderr).toBe(0)
      expect(sha256(got.stdout)).toBe(sha256(files[i] as Buffer))
    }
  })

  it('kill -9 of the namenode in the middle of puts loses no acknowledged pin', async () => {
    cluster = await TestCluster.start({ datanodes: 3 })
    const c = cluster
    const acknowledged: string[] = []
    let stop = false
    const writer = (async () => {
      for (let i = 0; !stop && i < 200; i++) {
        const file = path.join(c.dir, `loop-${i}`)
        await writeFile(file, await pseudoRandomBuffer(300_000 + i, `loop-${i}`))
        const put = await c.cairn(['put', file], { timeoutMs: 30_000 })
        if (put.code === 0) acknowledged.push(put.stdout.toString().trim())
        else if (!stop) stop = true // the namenode is gone: no more puts can succeed
      }
    })()
    while (acknowledged.length < 3) await new Promise((r) => setTimeout(r, 100))
    await cluster.killNamenode()
    stop = true
    await writer
    await cluster.startNamenode()
    await cluster.waitForLive(3)
    const pins = (await cluster.cairn(['pin', 'ls', '-q'])).stdout.toString()
    expect(acknowledged.length).toBeGreaterThanOrEqual(3)
    for (const root of acknowledged) expect(pins).toContain(root)
  })

  it('with no datanode alive, put fails at once with a clear error', async () => {
    cluster = await TestCluster.start({ datanodes: 2 })
    await cluster.stopDatanode(0)
    await cluster.stopDatanode(1)
    await cluster.waitFor(async (client) => (await client.report()).datanodes.every((d) => d.state !== 'live'), 'datanodes to go stale')
    const file = path.join(cluster.dir, 'x')
    await writeFile(file, 'x')
    const put = await cluster.cairn(['put', file], { timeoutMs: 30_000 })
    expect(put.code).toBe(4)
    expect(put.stderr).toContain('no datanode is alive')
    expect(put.stderr).toContain('hint:')
  })

  it('with fewer live datanodes than the replication, put stores what it can and says so', async () => {
    cluster = await TestCluster.start({ datanodes: 2 })
    const put = await cluster.cairn(['put', '-r', '3', '--json', '-'], { input: await pseudoRandomBuffer(100_000, 'short') })
    expect(put.code, put.stderr).toBe(0)
    expect(JSON.parse(put.stdout.toString())).toMatchObject({ replication: 3, copies: 2, liveDatanodes: 2 })
    expect(put.stderr).toContain('only 2 datanode(s) are live')
  })

  it('a client without the cluster key cannot connect', async () => {
    cluster = await TestCluster.start({ datanodes: 1 })
    const stranger = CairnClient.connect({ namenode: cluster.namenodeAddress, clusterKey: generateClusterKey(), timeoutMs: 3_000 })
    await expect(stranger).rejects.toMatchObject({ code: 'ERR_NAMENODE_UNREACHABLE' })
  })
})
