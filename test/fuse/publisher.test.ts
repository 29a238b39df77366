import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NameTree, NotADirectoryError } from '../../core/index.ts'
import type { CairnClient, TreeEdit } from '../../core/index.ts'
import { Publisher } from '../../fuse/publisher.ts'
import { TestCluster } from '../helpers/cluster.ts'

let cluster: TestCluster
let client: CairnClient

beforeAll(async () => {
  cluster = await TestCluster.start({ datanodes: 1 })
  client = await cluster.client()
})

afterAll(async () => {
  await client?.close()
  await cluster?.stop()
})

describe('the mount\'s publisher', () => {
  it('drops, loudly, an edit that can never apply to the tree, and publishes the changes queued around it', async () => {
    const tree = new NameTree(client.context, { key: await generateKeyPair('Ed25519'), replication: 1 })
    // another writer made /f a file; this mount still thinks it may write under /f
    await tree.write('/f', [{ content: new TextEncoder().encode('a file') }])
    const file = (await tree.ls('/')).find((e) => e.name === 'f')
    if (file === undefined) throw new Error('no /f')

    const log: string[] = []
    const dropped: TreeEdit[] = []
    const publisher = new Publisher({
      tree,
      debounceMs: 10,
      log: (line) => { log.push(line) },
      onPublished: () => {},
      onDropped: (edit) => { dropped.push(edit) }
    })
    const before = publisher.enqueue({ op: 'mkdir', path: '/before' })
    const impossible = publisher.enqueue({ op: 'put', path: '/f/inside', cid: file.cid })
    const after = publisher.enqueue({ op: 'mkdir', path: '/after' })
    const results = await Promise.allSettled([publisher.waitFor(before), publisher.waitFor(impossible), publisher.waitFor(after)])

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(NotADirectoryError)
    expect(dropped).toEqual([{ op: 'put', path: '/f/inside', cid: file.cid }])
    expect(log.some((line) => line.includes('could not publish the new content of /f/inside') && line.includes(file.cid.toString()))).toBe(true)
    expect((await tree.ls('/')).map((e) => e.name).sort()).toEqual(['after', 'before', 'f'])
    // nothing is left to retry: later changes go straight out
    await publisher.waitFor(publisher.enqueue({ op: 'mkdir', path: '/later' }))
    expect(publisher.idle).toBe(true)
  })

  it('stores a small file\'s blocks in the publish that links it (one round), readable by anyone after', async () => {
    const tree = new NameTree(client.context, { key: await generateKeyPair('Ed25519'), replication: 1 })
    const publisher = new Publisher({ tree, debounceMs: 10, log: () => {}, onPublished: () => {} })
    const bytes = new TextEncoder().encode('small, and stored with its directory')
    const { cid, blocks } = await tree.prepareSmallFile([{ content: bytes, mode: 0o640 }])
    expect(blocks.length).toBeGreaterThan(0)
    await publisher.waitFor(publisher.enqueue({ op: 'put', path: '/notes/small.txt', cid, blocks }))
    const got = await cluster.cairn(['cat', `/ipns/${tree.name.text}/notes/small.txt`])
    expect(got.code, got.stderr.toString()).toBe(0)
    expect(got.stdout.toString()).toBe('small, and stored with its directory')
    // pinned at the name's replication like any other content: fsck finds nothing missing
    const fsck = await cluster.cairn(['fsck', '--json'])
    expect(fsck.code, fsck.stdout.toString()).toBe(0)
  })
})
