import { createHash } from 'node:crypto'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CarReader } from '@ipld/car'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashMatches, importCars } from '../../core/index.ts'
import type { CairnClient } from '../../core/index.ts'
import { Gateway } from '../../gateway/index.ts'
import { KUBO_FIXTURES } from '../helpers/fixtures.ts'
import { TestCluster, until } from '../helpers/cluster.ts'
import { fixtureContent, http } from './helpers.ts'

const DIR_LISTING = 'bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i'
const SYMLINK = 'QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt'
const CACHE = 'bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui'
const FILES = 'bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy'
const HAMT = 'bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i'
const MISSING = 'QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk'
const DAG_CBOR = 'bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim'
const PERCENT = 'bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34'
const NEVER_STORED = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

let cluster: TestCluster
let client: CairnClient
let gateway: Gateway
let base: string

beforeAll(async () => {
  cluster = await TestCluster.start({ datanodes: 2 })
  client = await cluster.client()
  const cars: string[] = []
  for (const entry of await readdir(KUBO_FIXTURES, { recursive: true })) if (entry.endsWith('.car')) cars.push(path.join(KUBO_FIXTURES, entry))
  await importCars(client.context, cars, { replication: 2 })
  gateway = new Gateway({ client, port: 0, blockTimeoutMs: 5_000 })
  base = await gateway.start()
})
afterAll(async () => {
  await gateway?.stop()
  await client?.close()
  await cluster?.stop()
})

const get = async (target: string, headers: Record<string, string> = {}): ReturnType<typeof http> => await http(base, target, { headers })

describe('path gateway: fixtures served as Kubo made them', () => {
  it('lists a directory with UTF-8 names, and serves a file under them', async () => {
    const listing = await get(`/ipfs/${DIR_LISTING}/`)
    expect(listing.status).toBe(200)
    expect(listing.headers['content-type']).toBe('text/html; charset=utf-8')
    const html = listing.body.toString()
    for (const name of ['api', 'ipfs', 'ipns', 'ą']) expect(html).toContain(`>${name}</a>`)
    expect(html).toContain(`href="/ipfs/${DIR_LISTING}/${encodeURIComponent('ą')}"`)

    const file = await get(`/ipfs/${DIR_LISTING}/${encodeURIComponent('ą')}/${encodeURIComponent('ę')}/${encodeURIComponent('file-źł.txt')}`)
    expect(file.status).toBe(200)
    expect(file.body.equals(await fixtureContent('dir_listing/fixtures.car', `${DIR_LISTING}/ą/ę/file-źł.txt`))).toBe(true)
    expect(file.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(file.headers['x-ipfs-roots']).toBe([DIR_LISTING, 'bafybeidx5mxi45eqpzxsxdbz4v7gnza6f6arwhnrj5aqak2yqxhlspphta', 'bafybeih24awytf2cmnuycs4nslllfrdzhd6yliyzgd7mxwuxcgv2gm5mda', 'bafkreialihlqnf5uwo4byh4n3cmwlntwqzxxs2fg5vanqdi3d7tb2l5xkm'].join(','))
    expect(file.headers['x-ipfs-path']).toBe(`/ipfs/${DIR_LISTING}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt`)
  })

  it('redirects a directory without its trailing slash, keeping the query', async () => {
    const res = await get(`/ipfs/${DIR_LISTING}/${encodeURIComponent('ą')}?x=1`)
    expect(res.status).toBe(301)
    expect(res.headers.location).toBe(`/ipfs/${DIR_LISTING}/%C4%85/?x=1`)
  })

  it('follows a UnixFS symlink within the DAG', async () => {
    const bar = await get(`/ipfs/${SYMLINK}/bar`)
    expect(bar.status).toBe(200)
    expect(bar.body.equals(await fixtureContent('path_gateway_unixfs/symlink.car', `${SYMLINK}/foo`))).toBe(true)
  })

  it('serves a directory\'s index.html instead of a listing', async () => {
    const res = await get(`/ipfs/${CACHE}/root2/root3/root4/`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body.equals(await fixtureContent('gateway-cache/fixtures.car', `${CACHE}/root2/root3/root4/index.html`))).toBe(true)
  })

  it('lists a HAMT-sharded directory from its shards and serves a multi-block file in it', async () => {
    const res = await get(`/ipfs/${HAMT}/`)
    expect(res.status).toBe(200)
    const names = [...res.body.toString().matchAll(/>(\d+\.txt)<\/a>/g)].map((m) => m[1])
    const reader = await CarReader.fromBytes(await (await import('node:fs/promises')).readFile(path.join(KUBO_FIXTURES, 'trustless_gateway_car/single-layer-hamt-with-multi-block-files.car')))
    const { exporter } = await import('ipfs-unixfs-exporter')
    const dir = await exporter(HAMT, { async * get (cid: CID) { yield (await reader.get(cid))!.bytes } })
    const expected: string[] = []
    if (dir.type === 'directory') for await (const e of dir.entries()) expected.push(e.name)
    expect(names.sort()).toEqual(expected.sort())
    const file = await get(`/ipfs/${HAMT}/470.txt`)
    expect(file.status).toBe(200)
    expect(file.body.equals(await fixtureContent('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car', `${HAMT}/470.txt`))).toBe(true)
  })

  it('lists a 10,000-entry sharded directory from its links', async () => {
    const dir = path.join(cluster.dir, 'many')
    await mkdir(dir)
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, async (_, j) => { await writeFile(path.join(dir, `file-${i + j}.txt`), `entry ${i + j}\n`) }))
    }
    const put = await cluster.cairn(['put', '-r', '2', '-q', dir], { timeoutMs: 180_000 })
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()
    const started = performance.now()
    const res = await get(`/ipfs/${root}/`)
    const ms = performance.now() - started
    expect(res.status).toBe(200)
    const rows = [...res.body.toString().matchAll(/<a href="[^"]+">(file-\d+\.txt)<\/a>/g)].map((m) => m[1])
    expect(new Set(rows).size).toBe(10_000)
    process.stderr.write(`gateway: listed 10,000 entries of a HAMT in ${ms.toFixed(0)} ms\n`)
    const one = await get(`/ipfs/${root}/file-7777.txt`)
    expect(one.body.toString()).toBe('entry 7777\n')
  }, 240_000)

  it('a file missing a block is a 502 within the timeout, never wrong bytes', async () => {
    const res = await get(`/ipfs/${MISSING}`)
    expect(res.status).toBe(502)
    expect(res.body.toString()).toMatch(/not stored in the cluster/)
  })

  it('serves a percent-encoded file name', async () => {
    const name = 'Portugal%2C+España=Peninsula Ibérica.txt'
    const res = await get(`/ipfs/${PERCENT}/${encodeURIComponent(name)}`)
    expect(res.status).toBe(200)
    expect(res.body.equals(await fixtureContent('path_gateway_unixfs/dir-with-percent-encoded-filename.car', `${PERCENT}/${name}`))).toBe(true)
  })

  it('serves a dag-cbor block as itself, with its media type', async () => {
    const res = await get(`/ipfs/${DAG_CBOR}`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/vnd.ipld.dag-cbor')
    expect(hashMatches(CID.parse(DAG_CBOR), res.body)).toBe(true)
  })
})

describe('HTTP behaviour', () => {
  const multiblock = `/ipfs/${FILES}/multiblock.txt`

  it('single ranges: 206 with Content-Range, suffix ranges, 416 past the end', async () => {
    const whole = await fixtureContent('path_gateway_unixfs/dir-with-files.car', `${FILES}/multiblock.txt`)
    const full = await get(multiblock)
    expect(full.body.equals(whole)).toBe(true)
    expect(full.headers['accept-ranges']).toBe('bytes')
    const part = await get(multiblock, { Range: 'bytes=10-300' })
    expect(part.status).toBe(206)
    expect(part.headers['content-range']).toBe(`bytes 10-300/${whole.length}`)
    expect(part.body.equals(whole.subarray(10, 301))).toBe(true)
    const suffix = await get(multiblock, { Range: 'bytes=-5' })
    expect(suffix.status).toBe(206)
    expect(suffix.body.equals(whole.subarray(whole.length - 5))).toBe(true)
    const past = await get(multiblock, { Range: `bytes=${whole.length}-` })
    expect(past.status).toBe(416)
    expect(past.headers['content-range']).toBe(`bytes */${whole.length}`)
  })

  it('HEAD has GET\'s headers and no body', async () => {
    const getRes = await get(multiblock)
    const head = await http(base, multiblock, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body.length).toBe(0)
    for (const h of ['content-length', 'content-type', 'etag', 'cache-control', 'x-ipfs-roots']) expect(head.headers[h], h).toBe(getRes.headers[h])
  })

  it('ETag is the quoted CID; If-None-Match gives 304; /ipfs is immutable', async () => {
    const res = await get(multiblock)
    expect(res.headers.etag).toBe('"bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa"')
    expect(res.headers['cache-control']).toBe('public, max-age=29030400, immutable')
    const again = await get(multiblock, { 'If-None-Match': res.headers.etag as string })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    const listing = await get(`/ipfs/${FILES}/`)
    expect(listing.headers.etag).toMatch(/^"DirIndex-.*_CID-bafybeihchr7/)
    expect((await get(`/ipfs/${FILES}/`, { 'If-None-Match': listing.headers.etag as string })).status).toBe(304)
  })

  it('?format=raw and Accept: application/vnd.ipld.raw return the block', async () => {
    for (const res of [await get(`/ipfs/${FILES}?format=raw`), await get(`/ipfs/${FILES}`, { Accept: 'application/vnd.ipld.raw' })]) {
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toBe('application/vnd.ipld.raw')
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${FILES}.bin"`)
      expect(hashMatches(CID.parse(FILES), res.body)).toBe(true)
    }
  })

  it('?format=car returns the path\'s blocks and the DAG; dag-scope and entity-bytes narrow it', async () => {
    const carOf = async (target: string, headers: Record<string, string> = {}): Promise<string[]> => {
      const res = await get(target, headers)
      expect(res.status, res.body.toString()).toBe(200)
      expect(res.headers['content-type']).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n')
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename=".*\.car"$/)
      const car = await CarReader.fromBytes(res.body)
      const cids: string[] = []
      for await (const b of car.blocks()) {
        expect(hashMatches(b.cid, b.bytes)).toBe(true)
        cids.push(b.cid.toString())
      }
      return cids
    }
    const all = await carOf(`/ipfs/${FILES}?format=car`)
    expect(all[0]).toBe(FILES)
    expect(new Set(all).size).toBe(all.length)
    expect(all.length).toBe(9) // every block of the fixture
    expect(await carOf(`/ipfs/${FILES}`, { Accept: 'application/vnd.ipld.car' })).toEqual(all)

    const file = await carOf(`/ipfs/${FILES}/multiblock.txt?format=car`)
    expect(file[0]).toBe(FILES) // the path's blocks first
    expect(file[1]).toBe('bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa')
    const block = await carOf(`/ipfs/${FILES}/multiblock.txt?format=car&dag-scope=block`)
    expect(block).toEqual(file.slice(0, 2))
    const entity = await carOf(`/ipfs/${FILES}/multiblock.txt?format=car&dag-scope=entity`)
    expect(entity).toEqual(file)
    const firstBytes = await carOf(`/ipfs/${FILES}/multiblock.txt?format=car&entity-bytes=0:10`)
    expect(firstBytes).toEqual(file.slice(0, 3))
    const dirEntity = await carOf(`/ipfs/${FILES}?format=car&dag-scope=entity`)
    expect(dirEntity).toEqual([FILES])
    const hamtEntity = await carOf(`/ipfs/${HAMT}?format=car&dag-scope=entity`)
    expect(hamtEntity[0]).toBe(HAMT)
    // the shard nodes only, none of the files in them
    const { UnixFS } = await import('ipfs-unixfs')
    const dagPb = await import('@ipld/dag-pb')
    const car = await CarReader.fromBytes((await get(`/ipfs/${HAMT}?format=car&dag-scope=entity`)).body)
    for await (const b of car.blocks()) expect(UnixFS.unmarshal(dagPb.decode(b.bytes).Data!).type).toBe('hamt-sharded-directory')
    expect(hamtEntity.length).toBeLessThan((await carOf(`/ipfs/${HAMT}?format=car`)).length)
  })

  it('download and filename set Content-Disposition, UTF-8 names encoded per RFC 6266', async () => {
    const res = await get(`/ipfs/${FILES}/hello.txt?download=true&filename=${encodeURIComponent('żółw.txt')}`)
    expect(res.headers['content-disposition']).toBe('attachment; filename="___w.txt"; filename*=UTF-8\'\'%C5%BC%C3%B3%C5%82w.txt')
    const inline = await get(`/ipfs/${FILES}/hello.txt?filename=a.txt`)
    expect(inline.headers['content-disposition']).toBe('inline; filename="a.txt"')
  })

  it('errors: 400 for a malformed CID, 404 for a missing path or CID, 405 for writes', async () => {
    const bad = await get('/ipfs/not-a-cid')
    expect(bad.status).toBe(400)
    expect(bad.body.toString()).toMatch(/is not a valid CID/)
    expect((await get(`/ipfs/${FILES}/nope.txt`)).status).toBe(404)
    expect((await get(`/ipfs/${FILES}/hello.txt/below`)).status).toBe(404)
    expect((await get(`/ipfs/${NEVER_STORED}`)).status).toBe(404)
    expect((await get('/elsewhere')).status).toBe(404)
    expect((await get(`/ipfs/${FILES}?format=tar`)).status).toBe(400)
    expect((await http(base, `/ipfs/${FILES}`, { method: 'POST' })).status).toBe(405)
    const html = await get('/ipfs/not-a-cid', { Accept: 'text/html' })
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8')
  })

  it('paths cannot leave the DAG: .., encoded slashes, NUL', async () => {
    for (const target of [
      `/ipfs/${DIR_LISTING}/api/../ipfs/file.txt`,
      `/ipfs/${DIR_LISTING}/api/%2e%2e/ipfs/file.txt`,
      `/ipfs/${DIR_LISTING}/api%2Ffile.txt`,
      `/ipfs/${DIR_LISTING}/api/file.txt%00`,
      `/ipfs/${DIR_LISTING}/./api/file.txt`
    ]) {
      const res = await get(target)
      expect(res.status, target).toBe(400)
    }
  })

  it('/ipns/ paths resolve the name and cache for its TTL', async () => {
    const key = await generateKeyPair('Ed25519')
    const published = await client.publish(key, { value: `/ipfs/${DIR_LISTING}`, ttlMs: 42_000, replication: 2 })
    const res = await get(`/ipns/${published.name}/api/file.txt`)
    expect(res.status).toBe(200)
    expect(res.body.equals(await fixtureContent('dir_listing/fixtures.car', `${DIR_LISTING}/api/file.txt`))).toBe(true)
    expect(res.headers['cache-control']).toBe('public, max-age=42')
    expect(res.headers['x-ipfs-path']).toBe(`/ipns/${published.name}/api/file.txt`)
    expect((await get(`/ipns/${published.name}/api`)).headers.location).toBe(`/ipns/${published.name}/api/`)
    expect((await get('/ipns/not-a-name/x')).status).toBe(400)
  })
})

describe('status page', () => {
  it('shows the datanodes, pins and names, and the same as JSON', async () => {
    const res = await get('/')
    expect(res.status).toBe(200)
    const html = res.body.toString()
    for (const id of cluster.datanodeIds) expect(html).toContain(id.slice(-10))
    expect(html).toContain(`/ipfs/${FILES}/`)
    expect(html).toContain('http-equiv="refresh"')
    const json = JSON.parse((await get('/status.json')).body.toString()) as { report: { datanodes: unknown[] }, pins: Array<{ root: string, health: string }>, level: string }
    expect(json.report.datanodes.length).toBe(2)
    expect(json.pins.find((p) => p.root === FILES)?.health).toBe('healthy')
  })
})

describe('resilience', () => {
  it('keeps serving with a datanode down, and the status page says so', async () => {
    const whole = await fixtureContent('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car', `${HAMT}/742.txt`)
    await cluster.stopDatanode(1, 'SIGKILL')
    const res = await get(`/ipfs/${HAMT}/742.txt`)
    expect(res.status).toBe(200)
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(createHash('sha256').update(whole).digest('hex'))
    await cluster.waitFor(async (c) => (await c.report()).datanodes.some((d) => d.state !== 'live'), 'a datanode not live')
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    const status = await get('/')
    expect(status.body.toString()).toMatch(/class="banner (warn|bad)"/)
  })

  it('a datanode that stops answering gives a 502/504 within the block timeout, not a hang', async () => {
    const pid = cluster.datanodes[0]?.child.pid as number
    process.kill(pid, 'SIGSTOP')
    try {
      const started = performance.now()
      const res = await http(base, `/ipfs/${HAMT}/123.txt`, { timeoutMs: 60_000 })
      expect([502, 504]).toContain(res.status)
      expect(performance.now() - started).toBeLessThan(45_000)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  })

  // last: it restarts the namenode under the gateway (and its client)
  it('keeps running through a namenode restart and serves again once it is back', async () => {
    await cluster.killNamenode()
    // (the status is gathered at most every 2 s: wait out what was gathered before)
    await until('the status page says the namenode is gone', async () => (await get('/status.json')).status >= 500)
    await cluster.startNamenode()
    await until('the status page answers from the restarted namenode', async () => (await get('/status.json')).status === 200)
    // content too, once the datanodes have reported their blocks to it again
    await until('content served again', async () => (await get(`/ipfs/${PERCENT}/`)).status === 200)
  })
})
