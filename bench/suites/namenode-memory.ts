/**
 * Namenode memory per block: registers 1,000,000 random sha2-256 blocks
 * (3 replicas, want 3) in the compact BlockTable and in the Map layout of
 * BlockMap, each in its own child process (`node --expose-gc`) so neither
 * sees the other's garbage, and reports the growth after GC per block,
 * plus the speed of inserting and looking blocks up.
 *
 * The module is also the child: run directly with an implementation name,
 * it measures that one and prints a JSON line.
 */
import { randomFillSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { BlockTable } from '../../namenode/block-table.ts'
import { lastJson, runNode } from '../lib/spawn.ts'
import { formatSpread, spread } from '../lib/stats.ts'
import type { Spread } from '../lib/stats.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'
import { MiB } from '../lib/units.ts'

const BLOCKS = 1_000_000
const BLOCK_SIZE = 256 * 1024
const REPLICAS = 3
const WANT = 3
/** HDFS's ~150 bytes per block, to beat. */
const TARGET_BYTES = 150
const IMPLS = ['table', 'map'] as const
type Impl = typeof IMPLS[number]
const LABEL: Record<Impl, string> = { table: 'BlockTable', map: 'BlockMap (Map)' }

interface Sample {
  impl: Impl
  /** heapUsed + arrayBuffers growth per block, after GC. */
  heapPerBlock: number
  rssPerBlock: number
  /** BlockTable.memoryBytes(); 0 for the Map, which has none. */
  arrayBytes: number
  insertSec: number
  getSec: number
  hasSec: number
}

export const namenodeMemorySuite: Suite = {
  name: 'namenode-memory',
  description: `namenode bytes per block with ${BLOCKS.toLocaleString('en-US')} blocks registered: compact BlockTable against the Map-backed BlockMap`,
  run
}

async function run (ctx: SuiteContext): Promise<string[]> {
  const samples: Record<Impl, Sample[]> = { table: [], map: [] }
  for (let i = 1; i <= ctx.options.runs; i++) {
    for (const impl of IMPLS) {
      ctx.log(`namenode-memory: run ${i}/${ctx.options.runs}: ${LABEL[impl]}`)
      // runNode puts its first argument right after node, so a node flag fits there
      const child = await runNode('--expose-gc', [fileURLToPath(import.meta.url), impl], { label: `namenode-memory child (${impl})`, timeoutMs: 600_000 })
      samples[impl].push(lastJson(child, 'namenode-memory child') as unknown as Sample)
    }
  }
  const pick = (impl: Impl, f: (s: Sample) => number): Spread => spread(samples[impl].map(f))
  const perSec = (seconds: number): number => BLOCKS / seconds / 1e6
  const row = (label: string, f: (s: Sample) => number, digits = 0): string[] =>
    [label, ...IMPLS.map((impl) => formatSpread(pick(impl, f), digits))]
  const heap = (impl: Impl): number => pick(impl, (s) => s.heapPerBlock).median
  const rss = (impl: Impl): number => pick(impl, (s) => s.rssPerBlock).median
  const met = (impl: Impl): string => Math.max(heap(impl), rss(impl)) < TARGET_BYTES ? 'met' : 'MISSED'
  ctx.print(renderTable({
    title: `namenode-memory: ${BLOCKS.toLocaleString('en-US')} random sha2-256 blocks, ${REPLICAS} replicas each, want ${WANT}, ${ctx.options.runs} run${ctx.options.runs === 1 ? '' : 's'}`,
    head: ['figure', ...IMPLS.map((impl) => LABEL[impl])],
    rows: [
      row('bytes/block, heapUsed + arrayBuffers', (s) => s.heapPerBlock),
      row('bytes/block, RSS', (s) => s.rssPerBlock),
      [`target (< ${TARGET_BYTES} bytes per block)`, ...IMPLS.map(met)],
      ['typed arrays MiB (memoryBytes)', formatSpread(pick('table', (s) => s.arrayBytes / MiB), 1), 'n/a'],
      row(`inserts, M blocks/s (${REPLICAS} addReplica + setWant)`, (s) => perSec(s.insertSec), 2),
      row('get, M/s (random existing blocks)', (s) => perSec(s.getSec), 2),
      row('has, M/s', (s) => perSec(s.hasSec), 2)
    ],
    notes: [
      'median (min-max); each implementation in its own `node --expose-gc` child; growth from before the first insert to after the last, both after GC',
      'the 34 MB of test multihashes exist before and after, so they cancel out; the Map\'s base64url keys are its own cost',
      'BlockMap (Map): the layout of namenode/block-map.ts before BlockTable, Map<base64url multihash, {size, replicas, want}>; its get and has include blockKey\'s base64url encoding',
      'BlockTable grows by doubling at load 0.75: per block it costs 52 bytes / load, 69 to 139 bytes depending on where the count falls (1M blocks: load 0.48)'
    ]
  }))
  const line = (impl: Impl): string => `${LABEL[impl]} ${heap(impl).toFixed(0)} bytes/block heap+arrayBuffers, ${rss(impl).toFixed(0)} RSS`
  return [
    `${line('table')} (target < ${TARGET_BYTES} bytes per block: ${met('table')}); ${line('map')}`,
    `BlockTable ${perSec(pick('table', (s) => s.insertSec).median).toFixed(2)} M inserts/s, ${perSec(pick('table', (s) => s.getSec).median).toFixed(2)} M gets/s; BlockMap ${perSec(pick('map', (s) => s.insertSec).median).toFixed(2)} M inserts/s, ${perSec(pick('map', (s) => s.getSec).median).toFixed(2)} M gets/s`
  ]
}

/** The Map layout BlockMap had before BlockTable, keyed as blockKey() keyed it. */
class LegacyBlockMap {
  private readonly entries = new Map<string, { size: number, replicas: number[], want: number }>()

  get (key: string): { size: number, replicas: number[], want: number } | undefined {
    return this.entries.get(key)
  }

  addReplica (key: string, size: number, datanode: number): void {
    const entry = this.entries.get(key)
    if (entry === undefined) {
      this.entries.set(key, { size, replicas: [datanode], want: 0 })
      return
    }
    entry.size = size
    if (!entry.replicas.includes(datanode)) entry.replicas.push(datanode)
  }

  setWant (key: string, want: number): void {
    const entry = this.entries.get(key)
    if (entry !== undefined) entry.want = want
    else if (want > 0) this.entries.set(key, { size: 0, replicas: [], want })
  }
}

interface Target {
  insert: (mh: Uint8Array) => void
  get: (mh: Uint8Array) => unknown
  has: (mh: Uint8Array) => boolean
  arrayBytes: () => number
}

function target (impl: Impl): Target {
  if (impl === 'table') {
    const t = new BlockTable()
    return {
      insert: (mh) => {
        for (let r = 0; r < REPLICAS; r++) t.addReplica(mh, BLOCK_SIZE, r)
        t.setWant(mh, WANT)
      },
      get: (mh) => t.get(mh),
      has: (mh) => t.has(mh),
      arrayBytes: () => t.memoryBytes()
    }
  }
  const m = new LegacyBlockMap()
  const key = (mh: Uint8Array): string => Buffer.from(mh.buffer, mh.byteOffset, mh.byteLength).toString('base64url')
  return {
    insert: (mh) => {
      const k = key(mh)
      for (let r = 0; r < REPLICAS; r++) m.addReplica(k, BLOCK_SIZE, r)
      m.setWant(k, WANT)
    },
    get: (mh) => m.get(key(mh)),
    has: (mh) => m.get(key(mh)) !== undefined,
    arrayBytes: () => 0
  }
}

function settled (): { heap: number, rss: number } {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc')
  // several passes: one full GC can leave what finalizers of the last freed
  for (let i = 0; i < 4; i++) globalThis.gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss }
}

async function child (impl: Impl): Promise<void> {
  const keys = new Uint8Array(BLOCKS * 34)
  randomFillSync(keys)
  for (let i = 0; i < BLOCKS; i++) {
    keys[i * 34] = 0x12
    keys[i * 34 + 1] = 0x20
  }
  const mhAt = (i: number): Uint8Array => keys.subarray(i * 34, i * 34 + 34)
  let sink = 0

  const before = settled()
  const t = target(impl)
  let started = performance.now()
  for (let i = 0; i < BLOCKS; i++) t.insert(mhAt(i))
  const insertSec = (performance.now() - started) / 1000
  const after = settled()

  // a stride coprime with BLOCKS visits every block once, out of insertion order
  const STRIDE = 7919
  started = performance.now()
  for (let i = 0; i < BLOCKS; i++) if (t.get(mhAt((i * STRIDE) % BLOCKS)) !== undefined) sink++
  const getSec = (performance.now() - started) / 1000
  started = performance.now()
  for (let i = 0; i < BLOCKS; i++) if (t.has(mhAt((i * STRIDE) % BLOCKS))) sink++
  const hasSec = (performance.now() - started) / 1000
  if (sink !== 2 * BLOCKS) throw new Error(`found ${sink} of ${2 * BLOCKS} lookups`)

  const sample: Sample = {
    impl,
    heapPerBlock: (after.heap - before.heap) / BLOCKS,
    rssPerBlock: (after.rss - before.rss) / BLOCKS,
    arrayBytes: t.arrayBytes(),
    insertSec,
    getSec,
    hasSec
  }
  process.stdout.write(`${JSON.stringify(sample)}\n`)
}

if (import.meta.main) {
  const impl = process.argv[2]
  if (!IMPLS.includes(impl as Impl)) throw new Error(`usage: node --expose-gc ${process.argv[1] ?? 'namenode-memory.ts'} ${IMPLS.join('|')}`)
  await child(impl as Impl)
}
