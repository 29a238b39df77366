import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetadataStore } from '../../namenode/store.ts'
import { DagIndex } from '../../namenode/dag-index.ts'
import { blockKey } from '../../core/index.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(path.join(tmpdir(), 'cairn-md-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function rawCid (text: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text)))
}

describe('metadata store', () => {
  it('keeps pins, DAG links, datanodes and identity across a reopen', async () => {
    const leafA = await rawCid('a')
    const leafB = await rawCid('b')
    const root = CID.createV1(dagPb.code, await sha256.digest(new TextEncoder().encode('root')))
    const store = new MetadataStore(dir)
    store.setMeta('identity', new Uint8Array([1, 2, 3]))
    store.putDagNodes([{ cid: root, links: [leafA, leafB] }])
    store.putPin({ root, replication: 2, createdMs: 5, blocks: 3, bytes: 10, label: 'x' })
    store.putDatanode({ id: 'dn1', addrs: ['/ip4/127.0.0.1/tcp/1'], data: { host: '127.0.0.1', port: 2 }, registeredMs: 7, admin: 'decommissioning' })
    store.close()

    const again = new MetadataStore(dir)
    expect([...again.getMeta('identity') ?? []]).toEqual([1, 2, 3])
    expect(again.pins()).toEqual([{ root, replication: 2, createdMs: 5, blocks: 3, bytes: 10, label: 'x' }])
    const dag = [...again.dagNodes()]
    expect(dag).toHaveLength(1)
    expect(dag[0]?.links.map(String)).toEqual([leafA.toString(), leafB.toString()])
    expect(again.datanodes()[0]).toMatchObject({ id: 'dn1', data: { port: 2 }, admin: 'decommissioning' })
    expect(again.deletePin(root)).toBe(true)
    again.close()
  })
})

describe('DAG index', () => {
  it('walks a DAG, counting shared blocks once and naming nodes it cannot see into', async () => {
    const leaf = await rawCid('leaf')
    const shared = await rawCid('shared')
    const mid = CID.createV1(dagPb.code, await sha256.digest(new TextEncoder().encode('mid')))
    const unknown = CID.createV1(dagPb.code, await sha256.digest(new TextEncoder().encode('unknown')))
    const root = CID.createV1(dagPb.code, await sha256.digest(new TextEncoder().encode('root')))
    const index = new DagIndex()
    index.set(blockKey(root), [mid, shared, unknown])
    index.set(blockKey(mid), [leaf, shared])
    const reach = index.reach(root)
    expect(reach.blocks.size).toBe(5)
    expect(reach.unindexed.map(String)).toEqual([unknown.toString()])
  })
})
