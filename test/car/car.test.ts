import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { CarReader } from '@ipld/car'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { blockLinks, exportCar, hashMatches, mayHaveLinks } from '../../core/index.ts'
import { KUBO_FIXTURES } from '../helpers/fixtures.ts'
import { TestCluster } from '../helpers/cluster.ts'
import { pseudoRandomBuffer } from '../helpers/data.ts'

const MISSING = 'trustless_gateway_car/file-3k-and-3-blocks-missing-block.car'

let cluster: TestCluster
beforeAll(async () => { cluster = await TestCluster.start({ datanodes: 2 }) })
afterAll(async () => { await cluster?.stop() })

async function fixtureCars (): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(KUBO_FIXTURES, { recursive: true })) if (entry.endsWith('.car')) out.push(entry)
  return out.sort()
}

interface ImportJson { roots: Array<{ root: string, pinned: boolean, missing: string[] }>, blocks: number }

async function importCar (file: string): Promise<{ code: number | null, json: ImportJson, stderr: string }> {
  const run = await cluster.cairn(['import', '--json', '-r', '2', file])
  return { code: run.code, json: JSON.parse(run.stdout.toString()) as ImportJson, stderr: run.stderr }
}

/** The blocks of a CAR reachable from its first root, in depth-first order, each once. */
async function reachable (bytes: Uint8Array): Promise<Array<{ cid: string, bytes: Uint8Array }>> {
  const car = await CarReader.fromBytes(bytes)
  const [root] = await car.getRoots()
  const out: Array<{ cid: string, bytes: Uint8Array }> = []
  const seen = new Set<string>()
  const stack = [root!]
  while (stack.length > 0) {
    const cid = stack.pop()!
    if (seen.has(cid.toString()) || cid.multihash.code === 0) continue
    seen.add(cid.toString())
    const block = await car.get(cid)
    if (block === undefined) continue
    out.push({ cid: cid.toString(), bytes: block.bytes })
    const links = mayHaveLinks(cid) ? blockLinks(cid, block.bytes) : []
    for (let i = links.length - 1; i >= 0; i--) stack.push(links[i]!)
  }
  return out
}

describe('cairn import', () => {
  it('imports every Kubo fixture CAR and pins its roots; the one missing a block is stored, reported and not pinned', async () => {
    const cars = (await fixtureCars()).filter((f) => f !== MISSING)
    const all = await cluster.cairn(['import', '--json', '-r', '2', ...cars.map((f) => path.join(KUBO_FIXTURES, f))], { timeoutMs: 120_000 })
    expect(all.code, all.stderr).toBe(0)
    const json = JSON.parse(all.stdout.toString()) as ImportJson
    expect(json.roots.length).toBeGreaterThan(20)
    for (const r of json.roots) expect(r.pinned, r.root).toBe(true)

    const missing = await importCar(path.join(KUBO_FIXTURES, MISSING))
    expect(missing.code, missing.stderr).toBe(5)
    expect(missing.json.roots).toEqual([{ root: 'QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk', pinned: false, missing: [expect.stringMatching(/^Qm|^baf/)] }])
    expect(missing.stderr).toMatch(/not pinned because blocks are missing/)
    const pins = (await cluster.cairn(['pin', 'ls', '-q'])).stdout.toString()
    expect(pins).toContain('bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i') // the HAMT
    expect(pins).toContain('bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim') // dag-cbor
    expect(pins).toContain('baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq') // dag-json
    expect(pins).not.toContain('QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk')
    const fsck = await cluster.cairn(['fsck'])
    expect(fsck.code, fsck.stdout.toString() + fsck.stderr).toBe(0)
  }, 240_000)

  it('refuses a CAR with a block whose bytes do not match its CID, and pins nothing of it', async () => {
    const original = await readFile(path.join(KUBO_FIXTURES, 'path_gateway_unixfs/dir-with-files.car'))
    const fresh = Buffer.from(original)
    // flip the last byte: inside the last block's data
    fresh[fresh.length - 1] = fresh[fresh.length - 1]! ^ 0xff
    const bad = path.join(cluster.dir, 'bad.car')
    await writeFile(bad, fresh)
    const before = (await cluster.cairn(['pin', 'ls', '-q'])).stdout.toString()
    const run = await cluster.cairn(['import', bad])
    expect(run.code).toBe(5)
    expect(run.stderr).toMatch(/does not match its hash; nothing was imported/)
    expect((await cluster.cairn(['pin', 'ls', '-q'])).stdout.toString()).toBe(before)
  })

  it('says what is wrong with a file that is not a CAR', async () => {
    const junk = path.join(cluster.dir, 'junk.car')
    await writeFile(junk, 'hello, not a car')
    const run = await cluster.cairn(['import', junk])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/is not a valid CAR/)
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('cairn export', () => {
  it('a CAR exported from the cluster holds exactly the Kubo fixture\'s blocks, in depth-first order', async () => {
    const checked: string[] = []
    const client = await cluster.client()
    onTestFinished(async () => { await client.close() })
    for (const file of await fixtureCars()) {
      if (file === MISSING) continue
      const bytes = await readFile(path.join(KUBO_FIXTURES, file))
      const roots = await (await CarReader.fromBytes(bytes)).getRoots()
      if (roots.length !== 1) continue
      const car = await exportCar(client.context, { root: roots[0]!, segments: [] })
      const chunks: Uint8Array[] = []
      for await (const chunk of car.stream) chunks.push(chunk)
      const exported = await CarReader.fromBytes(Buffer.concat(chunks))
      expect((await exported.getRoots()).map(String)).toEqual([roots[0]!.toString()])
      const blocks: Array<{ cid: string, bytes: Uint8Array }> = []
      for await (const b of exported.blocks()) {
        expect(hashMatches(b.cid, b.bytes)).toBe(true)
        blocks.push({ cid: b.cid.toString(), bytes: b.bytes })
      }
      const expected = await reachable(bytes)
      expect(blocks.map((b) => b.cid), file).toEqual(expected.map((b) => b.cid))
      checked.push(file)
    }
    expect(checked.length).toBeGreaterThan(20)
    // and through the CLI, to standard output
    const run = await cluster.cairn(['export', 'bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy'])
    expect(run.code, run.stderr).toBe(0)
    expect((await reachable(run.stdout)).map((b) => b.cid)).toEqual((await reachable(await readFile(path.join(KUBO_FIXTURES, 'path_gateway_unixfs/dir-with-files.car')))).map((b) => b.cid))
  })

  it('export then import gives the same root and blocks; -o writes a file; a path exports its subtree', async () => {
    const data = await pseudoRandomBuffer(3 * 1024 * 1024 + 17, 'car-round-trip')
    const put = await cluster.cairn(['put', '-', '-r', '2', '-q'], { input: data })
    expect(put.code, put.stderr).toBe(0)
    const root = put.stdout.toString().trim()
    const out = path.join(cluster.dir, 'round.car')
    const exp = await cluster.cairn(['export', root, '-o', out, '--json'])
    expect(exp.code, exp.stderr).toBe(0)
    expect(JSON.parse(exp.stdout.toString()).root).toBe(root)
    const car = await readFile(out)
    const blocks = await reachable(car)
    expect(blocks.length).toBe(5) // 4 leaves of 1 MiB max and the root node
    expect(Buffer.concat(blocks.slice(1).map((b) => b.bytes)).equals(data)).toBe(true)

    const unpin = await cluster.cairn(['pin', 'rm', root])
    expect(unpin.code, unpin.stderr).toBe(0)
    const imp = await cluster.cairn(['import', out])
    expect(imp.code, imp.stderr).toBe(0)
    expect(imp.stdout.toString().trim()).toBe(root)
    // the same CAR piped in, as `ipfs dag export | cairn import -`
    expect((await cluster.cairn(['pin', 'rm', root])).code).toBe(0)
    const piped = await cluster.cairn(['import', '-'], { input: car })
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout.toString().trim()).toBe(root)
    const twice = await cluster.cairn(['import', '-', '-'], { input: car })
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain('only once')
    const again = await cluster.cairn(['export', root])
    expect(Buffer.compare(again.stdout, car)).toBe(0)

    const sub = await cluster.cairn(['export', '/ipfs/bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i/ą/ę'])
    expect(sub.code, sub.stderr).toBe(0)
    const subCar = await CarReader.fromBytes(sub.stdout)
    expect((await subCar.getRoots()).map(String)).toEqual(['bafybeih24awytf2cmnuycs4nslllfrdzhd6yliyzgd7mxwuxcgv2gm5mda'])
  })
})
