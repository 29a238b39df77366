import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NameTree, NotADirectoryError } from '../../core/index.ts'
import type { CairnClient, TreeEdit } from '../../core/index.ts'
import { journalFile, replayJournal } from '../../fuse/journal.ts'
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

  it('a journal replay publishes small files from the bytes the journal carries, and refuses bytes of the wrong size', async () => {
    const tree = new NameTree(client.context, { key: await generateKeyPair('Ed25519'), replication: 1 })
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-journal-'))
    try {
      const file = journalFile(dir, tree.name.text)
      const put = (t: number, p: string, text: string, size: number): string =>
        JSON.stringify({ t, put: { path: p, spool: '', data: Buffer.from(text).toString('base64'), size, mode: 0o600, mtimeMs: 1_700_000_000_000 } })
      await writeFile(file, [
        put(1, '/kept.txt', 'from the journal', 16),
        JSON.stringify({ t: 2, edit: { op: 'mkdir', path: '/dir' } }),
        put(3, '/dir/short.txt', 'cut short', 99),
        ''
      ].join('\n'))
      const result = await replayJournal(file, tree)
      expect(result).toEqual({ replayed: 2, lost: ['/dir/short.txt'], dropped: [], unreadable: 0 })
      const got = await cluster.cairn(['cat', `/ipns/${tree.name.text}/kept.txt`])
      expect(got.stdout.toString()).toBe('from the journal')
      expect((await tree.ls('/')).map((e) => e.name).sort()).toEqual(['dir', 'kept.txt'])
      expect(await tree.ls('/dir')).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  // Before, a damaged line ended the replay (every change after it was lost),
  // and a change the tree no longer allowed failed the whole replay at every
  // mount, so none of the journal's changes were ever published.
  it('a journal replay skips a damaged line and drops a change the tree no longer allows, publishing the rest', async () => {
    const tree = new NameTree(client.context, { key: await generateKeyPair('Ed25519'), replication: 1 })
    // another writer made /f a file after the mount journaled a write under /f
    await tree.write('/f', [{ content: new TextEncoder().encode('a file') }])
    const f = (await tree.ls('/')).find((e) => e.name === 'f')
    if (f === undefined) throw new Error('no /f')
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-journal-'))
    try {
      const file = journalFile(dir, tree.name.text)
      await writeFile(file, [
        JSON.stringify({ t: 1, put: { path: '/a.txt', spool: '', data: Buffer.from('alpha').toString('base64'), size: 5, mode: 0o644, mtimeMs: 1_700_000_000_000 } }),
        '{"t":2,"edit":{"op":"mkdir","pa',
        JSON.stringify({ t: 3, edit: { op: 'mkdir', path: '/b' } }),
        JSON.stringify({ t: 4, edit: { op: 'put', path: '/f/inside', cid: f.cid.toString() } }),
        JSON.stringify({ t: 5, edit: { op: 'mkdir', path: '/c' } }),
        ''
      ].join('\n'))
      const result = await replayJournal(file, tree)
      expect(result).toMatchObject({ replayed: 3, lost: [], unreadable: 1 })
      expect(result.dropped).toHaveLength(1)
      expect(result.dropped[0]).toContain('/f/inside')
      expect((await tree.ls('/')).map((e) => e.name).sort()).toEqual(['a.txt', 'b', 'c', 'f'])
      expect((await cluster.cairn(['cat', `/ipns/${tree.name.text}/a.txt`])).stdout.toString()).toBe('alpha')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
