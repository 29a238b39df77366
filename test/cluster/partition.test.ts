import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { FsckResult } from '../../core/index.ts'
import { MAIN, TestCluster, until } from '../helpers/cluster.ts'
import { pseudoRandomBuffer, sha256 } from '../helpers/data.ts'

/**
 * A real network partition: one datanode lives in a network namespace of
 * its own, joined to the host by a veth pair; taking the host end of the
 * link down cuts it off from the namenode, bringing it up heals it.
 */

const suffix = `${process.pid % 1000}`
const NS = `cairn-part-${suffix}`
const HOST_IF = `cpa${suffix}`
const NS_IF = `cpb${suffix}`
// a /30 of our own, unlikely to clash with anything on this machine
const SUBNET = 100 + (process.pid % 150)
const HOST_IP = `10.213.${SUBNET}.1`
const NS_IP = `10.213.${SUBNET}.2`

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' })
}

function canPartition (): boolean {
  try {
    ip('netns', 'add', `${NS}-probe`)
    ip('netns', 'del', `${NS}-probe`)
    return true
  } catch {
    return false
  }
}

const supported = canPartition()
if (!supported) console.warn('partition test skipped: cannot create network namespaces here (needs root and iproute2)')

let cluster: TestCluster | undefined
let outsider: ChildProcess | undefined
afterEach(async () => {
  outsider?.kill('SIGKILL')
  outsider = undefined
  await cluster?.stop()
  cluster = undefined
  try { ip('link', 'del', HOST_IF) } catch {}
  try { ip('netns', 'del', NS) } catch {}
})

describe.skipIf(!supported)('partition', () => {
  it('a datanode cut off from the namenode and healed: the same result as a restart', async () => {
    ip('netns', 'add', NS)
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF)
    ip('link', 'set', NS_IF, 'netns', NS)
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF)
    ip('link', 'set', HOST_IF, 'up')
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF)
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up')
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up')

    // the namenode also listens on the host end of the link
    cluster = await TestCluster.start({ datanodes: 3, namenodeArgs: ['--listen', '/ip4/127.0.0.1/tcp/0', `/ip4/${HOST_IP}/tcp/0`] })
    const c = cluster
    const hostAddress = (await c.report()).namenode.addrs.find((a) => a.includes(HOST_IP))
    expect(hostAddress).toBeDefined()
    const namenode = hostAddress!.includes('/p2p/') ? hostAddress! : `${hostAddress!}/p2p/${(await c.report()).namenode.id}`

    const log = createWriteStream(path.join(c.dir, 'outsider.log'))
    outsider = spawn('ip', ['netns', 'exec', NS, process.execPath, MAIN, 'datanode', '--namenode', namenode,
      '--cluster-key', c.keyFile, '--data', path.join(c.dir, 'outsider'), '--listen', `/ip4/${NS_IP}/tcp/0`,
      '--data-host', NS_IP, '--heartbeat-interval', '500', '--reserved', '0'], { stdio: ['ignore', 'ignore', 'pipe'] })
    outsider.stderr?.pipe(log)
    await c.waitForLive(4)
    const outsiderId = (await c.report()).datanodes.find((d) => d.data?.host === NS_IP)?.id
    expect(outsiderId).toBeDefined()

    // data with a copy on every datanode, the outsider included
    const bytes = await pseudoRandomBuffer(6 * 1024 * 1024, 'partition')
    const file = path.join(c.dir, 'p.bin')
    await writeFile(file, bytes)
    const put = await c.cairn(['put', '-r', '4', file])
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()

    // cut: the namenode declares it dead and re-replicates what it can (3 live datanodes for 4 copies)
    ip('link', 'set', HOST_IF, 'down')
    await until('the outsider to be declared dead', async () => (await c.report()).datanodes.find((d) => d.id === outsiderId)?.state === 'dead')
    const during = await c.cairn(['cat', root])
    expect(sha256(during.stdout)).toBe(sha256(bytes))

    // heal: it reconnects by itself, registers again, and its copies count once more
    ip('link', 'set', HOST_IF, 'up')
    await until('the outsider to be live again', async () => (await c.report()).datanodes.find((d) => d.id === outsiderId)?.state === 'live')
    await until('full replication with the outsider back', async () => {
      const r = await c.cairn(['fsck', '--json'])
      const result = JSON.parse(r.stdout.toString()) as FsckResult
      return r.code === 0 && result.total.healthy === result.total.blocks && result.total.blocks > 0
    })
    const after = await c.cairn(['cat', root])
    expect(sha256(after.stdout)).toBe(sha256(bytes))
  }, 180_000)
})

