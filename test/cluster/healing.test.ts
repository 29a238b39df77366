import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import { hashMatches, importDag } from '../../core/index.ts'
import type { FsckResult } from '../../core/index.ts'
import { BlockStore } from '../../datanode/index.ts'
import { TestCluster, until } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

async function fsck (c: TestCluster): Promise<{ code: number | null, result: FsckResult }> {
  const run = await c.cairn(['fsck', '--json'])
  return { code: run.code, result: JSON.parse(run.stdout.toString()) as FsckResult }
}

async function putBytes (c: TestCluster, name: string, bytes: Uint8Array, replication: number): Promise<string> {
  const file = path.join(c.dir, name)
  await writeFile(file, bytes)
  const put = await c.cairn(['put', '-r', String(replication), file])
  expect(put.code, put.stderr).toBe(0)
  return put.stdout.toString().trim()
}

async function blocksOf (bytes: Uint8Array): Promise<CID[]> {
  const cids: CID[] = []
  await importDag([{ content: bytes }], { put: async (cid) => { cids.push(cid) } }, {})
  return cids
}

/** Good copies of each block on the datanodes' disks (what is really there and hashes right, not the namenode's view). */
async function copiesOnDisk (c: TestCluster, cids: CID[], datanodes: number[]): Promise<number[]> {
  const stores = datanodes.map((i) => new BlockStore({ path: path.join(c.datanodeDir(i), 'blocks'), reservedBytes: 0 }))
  return await Promise.all(cids.map(async (cid) => {
    let n = 0
    for (const store of stores) {
      const bytes = await readFile(store.fileOf(cid)).catch(() => undefined)
      if (bytes !== undefined && hashMatches(cid, bytes)) n++
    }
    return n
  }))
}

describe('the cluster keeps every pinned block at its replication factor', () => {
  it('a datanode killed with -9: back to full replication with no command, every byte readable throughout', async () => {
    cluster = await TestCluster.start({ datanodes: 4 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(64 * 1024 * 1024, 'kill-one')
    const root = await putBytes(c, 'big.bin', bytes, 2)
    const want = sha256(bytes)

    // read continuously while the cluster heals
    let reading = true
    const reads: boolean[] = []
    const reader = (async () => {
      while (reading) {
        const got = await c.cairn(['cat', root], { timeoutMs: 60_000 })
        reads.push(got.code === 0 && sha256(got.stdout) === want)
      }
    })()

    await c.stopDatanode(2, 'SIGKILL')
    await until('the dead datanode to be noticed and its copies replaced', async () => {
      const r = await c.report()
      return r.datanodes.some((d) => d.state === 'dead') && r.blocks.underReplicated === 0 && r.blocks.pinned > 0
    })
    reading = false
    await reader
    expect(reads.length).toBeGreaterThan(0)
    expect(reads.every(Boolean), `reads: ${reads.join(',')}`).toBe(true)

    const { code, result } = await fsck(c)
    expect(code).toBe(0)
    expect(result.status).toBe('HEALTHY')
    expect(result.total.underReplicated).toBe(0)
    // and on the disks of the live datanodes, every block has its two copies
    const copies = await copiesOnDisk(c, await blocksOf(bytes), [0, 1, 3])
    expect(copies.every((n) => n >= 2), `copies per block: ${copies.join(',')}`).toBe(true)
  }, 180_000)

  it('bytes flipped on disk: the scanner finds the copy, it is replaced, fsck is HEALTHY again', async () => {
    cluster = await TestCluster.start({ datanodes: 3, datanodeArgs: () => ['--scan-rate', '256MiB', '--scan-interval', '300'] })
    const c = cluster
    const bytes = await pseudoRandomBuffer(4 * 1024 * 1024, 'rot-scan')
    await putBytes(c, 'rot.bin', bytes, 2)
    const victim = (await blocksOf(bytes))[2] as CID
    let rotted: number | undefined
    for (const i of [0, 1, 2]) {
      const store = new BlockStore({ path: path.join(c.datanodeDir(i), 'blocks'), reservedBytes: 0 })
      try {
        const data = await readFile(store.fileOf(victim))
        data[100] = (data[100] as number) ^ 0xff
        await writeFile(store.fileOf(victim), data)
        rotted = i
        break
      } catch {}
    }
    expect(rotted).toBeDefined()
    await until('the rotten copy to be set aside', async () => {
      const names = await readdir(path.join(c.datanodeDir(rotted as number), 'blocks', 'quarantine')).catch(() => [])
      return names.length === 1
    })
    await until('fsck to be HEALTHY with two good copies', async () => {
      const { code, result } = await fsck(c)
      return code === 0 && result.total.healthy === result.total.blocks
    })
    // two good copies again (the new one may land back on the datanode that had the rotten one)
    const good = await copiesOnDisk(c, [victim], [0, 1, 2])
    expect(good[0]).toBe(2)
  }, 120_000)

  it('kill -9 of the namenode mid-puts: acknowledged puts are readable, safe mode ends by itself, no repair storm', async () => {
    cluster = await TestCluster.start({ datanodes: 3 })
    const c = cluster
    const acknowledged: Array<{ root: string, hash: string }> = []
    let stop = false
    const writer = (async () => {
      for (let i = 0; !stop && i < 100; i++) {
        const bytes = await pseudoRandomBuffer(200_000 + i, `storm-${i}`)
        const file = path.join(c.dir, `s-${i}`)
        await writeFile(file, bytes)
        const put = await c.cairn(['put', '-r', '3', file], { timeoutMs: 30_000 })
        if (put.code === 0) acknowledged.push({ root: put.stdout.toString().trim(), hash: sha256(bytes) })
        else stop = true
      }
    })()
    while (acknowledged.length < 4) await new Promise((resolve) => setTimeout(resolve, 100))
    await c.killNamenode()
    stop = true
    await writer
    const before = (await Promise.all([0, 1, 2].map(async (i) => await readdir(path.join(c.datanodeDir(i), 'blocks'), { recursive: true })))).map((l) => l.length)

    await c.startNamenode()
    await until('safe mode to end by itself', async () => {
      const r = await c.report().catch(() => undefined)
      return r !== undefined && !r.safeMode.on
    })
    // no storm: nothing was under-replicated, so nothing is copied or deleted
    for (let i = 0; i < 5; i++) {
      const r = await c.report()
      expect(r.blocks.pendingCopies).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
    const after = (await Promise.all([0, 1, 2].map(async (i) => await readdir(path.join(c.datanodeDir(i), 'blocks'), { recursive: true })))).map((l) => l.length)
    expect(after).toEqual(before)
    for (const { root, hash } of acknowledged) {
      const got = await c.cairn(['cat', root])
      expect(got.code, got.stderr).toBe(0)
      expect(sha256(got.stdout)).toBe(hash)
    }
  }, 180_000)

  it('a datanode that comes back after being declared dead: its extra copies are removed, nothing is lost', async () => {
    cluster = await TestCluster.start({ datanodes: 3 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(6 * 1024 * 1024, 'return')
    const root = await putBytes(c, 'ret.bin', bytes, 2)
    const cids = await blocksOf(bytes)
    await c.stopDatanode(0, 'SIGKILL')
    await until('repair after the death', async () => {
      const r = await c.report()
      return r.datanodes.some((d) => d.state === 'dead') && r.blocks.underReplicated === 0
    })
    await c.startDatanode(0)
    await c.waitForLive(3)
    await until('the extra copies to be removed', async () => {
      const r = await c.report()
      const copies = await copiesOnDisk(c, cids, [0, 1, 2])
      return r.blocks.overReplicated === 0 && copies.every((n) => n === 2)
    })
    const got = await c.cairn(['cat', root])
    expect(sha256(got.stdout)).toBe(sha256(bytes))
    const { result } = await fsck(c)
    expect(result.status).toBe('HEALTHY')
    expect(result.total.healthy).toBe(result.total.blocks)
  }, 120_000)

  it('a datanode whose disk is full refuses blocks, reports itself full, and puts go elsewhere', async () => {
    cluster = await TestCluster.start({
      datanodes: 3,
      // datanode 0 keeps all but nothing free: it is "full"
      datanodeArgs: (i) => i === 0 ? ['--reserved', '100000GiB'] : []
    })
    const c = cluster
    const r = await c.report()
    const full = r.datanodes.find((d) => d.availableBytes === 0)
    expect(full).toBeDefined()
    const bytes = await pseudoRandomBuffer(3 * 1024 * 1024, 'full')
    const file = path.join(c.dir, 'full.bin')
    await writeFile(file, bytes)
    const put = await c.cairn(['put', '-r', '2', '--json', file])
    expect(put.code, put.stderr).toBe(0)
    expect(JSON.parse(put.stdout.toString()).copies).toBe(2)
    const onFull = await copiesOnDisk(c, await blocksOf(bytes), [0])
    expect(onFull.every((n) => n === 0)).toBe(true)
  }, 120_000)

  it('a put whose target datanode dies midway finishes on the others, and the repair completes it', async () => {
    cluster = await TestCluster.start({ datanodes: 4 })
    const c = cluster
    const bytes = await pseudoRandomBuffer(96 * 1024 * 1024, 'mid-put')
    const file = path.join(c.dir, 'mid.bin')
    await writeFile(file, bytes)
    const put = c.cairn(['put', '-r', '3', file], { timeoutMs: 120_000 })
    // kill a datanode once the put is under way
    await until('blocks to start arriving', async () => (await c.report()).datanodes.some((d) => d.blocks > 4), 30_000)
    await c.stopDatanode(1, 'SIGKILL')
    const done = await put
    expect(done.code, done.stderr).toBe(0)
    const root = done.stdout.toString().trim()
    expect(sha256((await c.cairn(['cat', root])).stdout)).toBe(sha256(bytes))
    await until('full replication on the three that are left', async () => {
      const { code, result } = await fsck(c)
      return code === 0 && result.total.healthy === result.total.blocks
    })
  }, 180_000)

  it('copies go to distinct racks where there are several', async () => {
    cluster = await TestCluster.start({ datanodes: 4, datanodeArgs: (i) => ['--rack', i < 2 ? 'rack-a' : 'rack-b'] })
    const c = cluster
    const bytes = await pseudoRandomBuffer(12 * 1024 * 1024, 'racks')
    await putBytes(c, 'racks.bin', bytes, 2)
    for (const cid of await blocksOf(bytes)) {
      const [a, b] = [await copiesOnDisk(c, [cid], [0, 1]), await copiesOnDisk(c, [cid], [2, 3])]
      expect([a[0], b[0]], `${cid}`).toEqual([1, 1])
    }
    const { result } = await fsck(c)
    expect(result.total.misplaced).toBe(0)
  }, 120_000)
})
