import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import { generateClusterKey, importDag } from '../../core/index.ts'
import type { FsckResult, GcResult } from '../../core/index.ts'
import { BlockStore } from '../../datanode/index.ts'
import { MAIN, TestCluster, until } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

async function putBytes (c: TestCluster, name: string, bytes: Uint8Array, args: string[] = []): Promise<string> {
  const file = path.join(c.dir, name)
  await writeFile(file, bytes)
  const put = await c.cairn(['put', ...args, file])
  expect(put.code, put.stderr).toBe(0)
  return put.stdout.toString().trim()
}

async function blocksOf (bytes: Uint8Array): Promise<CID[]> {
  const cids: CID[] = []
  await importDag([{ content: bytes }], { put: async (cid) => { cids.push(cid) } }, {})
  return cids
}

async function onDisk (c: TestCluster, datanode: number, cid: CID): Promise<boolean> {
  const store = new BlockStore({ path: path.join(c.datanodeDir(datanode), 'blocks'), reservedBytes: 0 })
  return await readFile(store.fileOf(cid)).then(() => true, () => false)
}

describe('operations', () => {
  it('decommission: copies move elsewhere, the datanode is marked safe to remove, and report shows it', async () => {
    cluster = await TestCluster.start({ datanodes: 4 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(8 * 1024 * 1024, 'decom')
    const root = await putBytes(c, 'd.bin', bytes, ['-r', '2'])
    const target = c.datanodeIds[0] as string
    const start = await c.cairn(['datanode', 'decommission', target.slice(-8)])
    expect(start.code, start.stderr).toBe(0)
    expect(start.stdout.toString()).toMatch(/decommission/)
    const done = await c.cairn(['datanode', 'decommission', target, '--wait'], { timeoutMs: 90_000 })
    expect(done.stdout.toString()).toContain('decommissioned: safe to remove')
    const r = await c.report()
    expect(r.datanodes.find((d) => d.id === target)?.admin).toBe('decommissioned')
    expect((await c.cairn(['report'])).stdout.toString()).toContain('decommissioned')
    // every block has its 2 copies without the retired datanode: stop it and read everything
    const index = [0, 1, 2, 3].find((i) => c.datanodeIds[i] === target)
    expect(index).toBeDefined()
    const fsckRun = await c.cairn(['fsck', '--json'])
    expect((JSON.parse(fsckRun.stdout.toString()) as FsckResult).total.underReplicated).toBe(0)
    const got = await c.cairn(['cat', root])
    expect(sha256(got.stdout)).toBe(sha256(bytes))
  }, 120_000)

  it('gc deletes what no pin reaches, and never what a pin reaches', async () => {
    cluster = await TestCluster.start({ datanodes: 2, namenodeArgs: ['--gc-grace', '0'], datanodeArgs: () => ['--gc-grace', '0'] })
    const c = cluster
    const keep = await pseudoRandomBuffer(3 * 1024 * 1024, 'keep')
    const drop = await pseudoRandomBuffer(3 * 1024 * 1024 + 5, 'drop')
    const keepRoot = await putBytes(c, 'keep.bin', keep, ['-r', '2'])
    const dropRoot = await putBytes(c, 'drop.bin', drop, ['-r', '2'])
    expect((await c.cairn(['pin', 'rm', dropRoot])).code).toBe(0)

    const dropBlocks = await blocksOf(drop)
    const dry = JSON.parse((await c.cairn(['gc', '--dry-run', '--json'])).stdout.toString()) as GcResult
    expect(dry.blocks).toBe(dropBlocks.length)
    expect(await onDisk(c, 0, dropBlocks[0] as CID)).toBe(true)

    const run = await c.cairn(['gc'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.toString()).toContain(`deleting ${dropBlocks.length} unpinned blocks`)
    await until('the unpinned blocks to be gone from disk', async () => {
      const left = await Promise.all(dropBlocks.flatMap((cid) => [onDisk(c, 0, cid), onDisk(c, 1, cid)]))
      return left.every((b) => !b)
    })
    for (const cid of await blocksOf(keep)) {
      expect(await onDisk(c, 0, cid)).toBe(true)
      expect(await onDisk(c, 1, cid)).toBe(true)
    }
    expect(sha256((await c.cairn(['cat', keepRoot])).stdout)).toBe(sha256(keep))
    expect((await c.cairn(['cat', dropRoot])).code).not.toBe(0)
  }, 120_000)

  it('gc spares the blocks of a put in progress (its lease), then a new put of gc\'d data works', async () => {
    cluster = await TestCluster.start({ datanodes: 2, namenodeArgs: ['--gc-grace', '0'], datanodeArgs: () => ['--gc-grace', '0'] })
    const c = cluster
    const bytes = await pseudoRandomBuffer(2 * 1024 * 1024, 'again')
    const root = await putBytes(c, 'a.bin', bytes, ['-r', '2'])
    await c.cairn(['pin', 'rm', root])
    expect((await c.cairn(['gc'])).code).toBe(0)
    // the same content again, right after gc ordered it deleted: the put must end with every block stored
    const again = await putBytes(c, 'a2.bin', bytes, ['-r', '2'])
    expect(again).toBe(root)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const got = await c.cairn(['cat', root])
    expect(got.code, got.stderr).toBe(0)
    expect(sha256(got.stdout)).toBe(sha256(bytes))
    const { result } = { result: JSON.parse((await c.cairn(['fsck', '--json'])).stdout.toString()) as FsckResult }
    expect(result.status).toBe('HEALTHY')
  }, 120_000)

  it('balance moves copies from full datanodes to empty ones', async () => {
    cluster = await TestCluster.start({ datanodes: 2 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(16 * 1024 * 1024, 'balance')
    const root = await putBytes(c, 'b.bin', bytes, ['-r', '2'])
    await c.startDatanode(2)
    await c.startDatanode(3)
    await c.waitForLive(4)
    const run = await c.cairn(['balance', '--threshold', '0.0001', '--wait'], { timeoutMs: 90_000 })
    expect(run.code, run.stderr).toBe(0)
    await until('the new datanodes to hold blocks', async () => {
      const r = await c.report()
      return r.datanodes.every((d) => d.blocks > 0) && r.blocks.overReplicated === 0
    })
    const r = await c.report()
    const counts = r.datanodes.map((d) => d.blocks).sort((a, b) => a - b)
    expect(counts[0]).toBeGreaterThan(2)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2 * 17)
    expect(sha256((await c.cairn(['cat', root])).stdout)).toBe(sha256(bytes))
  }, 120_000)

  it('fsck says CORRUPT and exits non-zero when a block has no copy left; safe mode can be held by hand', async () => {
    cluster = await TestCluster.start({ datanodes: 1 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(2 * 1024 * 1024, 'lost')
    await putBytes(c, 'l.bin', bytes, ['-r', '1'])
    const healthy = await c.cairn(['fsck'])
    expect(healthy.code).toBe(0)
    expect(healthy.stdout.toString()).toContain('Status: HEALTHY')

    expect((await c.cairn(['safemode', 'enter'])).stdout.toString()).toContain('ON')
    expect((await c.cairn(['gc'])).code).toBe(4)
    expect((await c.cairn(['safemode', 'leave'])).stdout.toString()).toContain('OFF')

    await c.stopDatanode(0, 'SIGKILL')
    await until('the datanode to be dead', async () => (await c.report()).datanodes.every((d) => d.state === 'dead'))
    const lost = await c.cairn(['fsck'])
    expect(lost.code).toBe(5)
    expect(lost.stdout.toString()).toContain('Status: CORRUPT')
    expect(lost.stdout.toString()).toContain('missing')
  }, 120_000)

  it('a put when every datanode is full fails with a clear error', async () => {
    cluster = await TestCluster.start({ datanodes: 2, datanodeArgs: () => ['--reserved', '100000GiB'] })
    const put = await cluster.cairn(['put', '-'], { input: await pseudoRandomBuffer(100_000, 'nospace') })
    expect(put.code).toBe(6)
    expect(put.stderr).toContain('too full')
  })

  it('a datanode without the cluster key never joins', async () => {
    cluster = await TestCluster.start({ datanodes: 1 })
    const c = cluster
    const strangerKey = path.join(c.dir, 'stranger.key')
    await writeFile(strangerKey, generateClusterKey())
    const child = spawn(process.execPath, [MAIN, 'datanode', '--namenode', c.namenodeAddress, '--cluster-key', strangerKey, '--data', path.join(c.dir, 'stranger')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    child.stderr.on('data', (d: Buffer) => { log += d.toString() })
    try {
      await new Promise((resolve) => setTimeout(resolve, 4_000))
      expect((await c.report()).datanodes).toHaveLength(1)
      expect(log).toMatch(/namenode link/)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('pin add keeps part of a tree at its own replication, raises it, lowers it again, and refuses what the cluster lacks', async () => {
    cluster = await TestCluster.start({ datanodes: 3 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(2 * 1024 * 1024 + 7, 'pin-add')
    const dir = path.join(c.dir, 'tree')
    await mkdir(path.join(dir, 'sub'), { recursive: true })
    await writeFile(path.join(dir, 'sub', 'f.bin'), bytes)
    await writeFile(path.join(dir, 'g.txt'), 'not this one\n')
    const put = await c.cairn(['put', '-r', '1', dir])
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()
    const blocks = await blocksOf(bytes)
    const copies = async (cid: CID): Promise<number> => (await Promise.all([0, 1, 2].map(async (i) => await onDisk(c, i, cid)))).filter(Boolean).length
    const everyBlockHas = async (n: number): Promise<boolean> => (await Promise.all(blocks.map(copies))).every((k) => k === n)
    expect(await everyBlockHas(1)).toBe(true)

    // a file inside the tree, pinned on its own at 3 copies: the namenode makes the others
    const raise = await c.cairn(['pin', 'add', '-r', '3', '--label', 'the file', `${root}/sub/f.bin`, '--json'])
    expect(raise.code, raise.stderr).toBe(0)
    const pinned = JSON.parse(raise.stdout.toString()) as { root: string, replication: number, blocks: number }
    const file = blocks.at(-1) as CID
    expect(pinned.root).toBe(file.toString())
    expect(pinned.replication).toBe(3)
    expect(pinned.blocks).toBe(blocks.length)
    await until('every block of the file has 3 copies on disk', async () => await everyBlockHas(3))
    const ls = JSON.parse((await c.cairn(['pin', 'ls', '--json'])).stdout.toString()) as Array<{ root: string, replication: number, label?: string }>
    expect(ls.find((p) => p.root === file.toString())).toMatchObject({ replication: 3, label: 'the file' })

    // down to 2: the extra copies go once wants are recounted (the namenode does so at most every 30 s; gc first)
    const lower = await c.cairn(['pin', 'add', '-r', '2', file.toString()])
    expect(lower.code, lower.stderr).toBe(0)
    expect(lower.stderr.toString()).toContain('2 copies wanted (was 3)')
    const gc = await c.cairn(['gc'])
    expect(gc.code, gc.stderr).toBe(0)
    await until('every block of the file is down to 2 copies', async () => await everyBlockHas(2))
    const got = await c.cairn(['cat', `${root}/sub/f.bin`])
    expect(sha256(got.stdout)).toBe(sha256(bytes))
    // pinned again without -r: it keeps its own replication, not the cluster's default of 3
    const again = await c.cairn(['pin', 'add', '--json', file.toString()])
    expect(again.code, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout.toString()) as { replication: number }).replication).toBe(2)

    // content the cluster never received is refused, with what to do
    const missing = await c.cairn(['pin', 'add', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr.toString()).toMatch(/on no live datanode[\s\S]*hint: put or import the content/)
    expect(missing.stderr.toString()).not.toMatch(/\n\s+at /)
  }, 120_000)
})

