import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { BlockTable, multihashOf } from '../../namenode/block-table.ts'
import type { BlockInfo } from '../../namenode/block-table.ts'
import { prng } from '../helpers/data.ts'


function sha256Key (random: () => number, prefix?: Uint8Array): Uint8Array {
  const mh = new Uint8Array(34)
  mh[0] = 0x12
  mh[1] = 0x20
  for (let i = 2; i < 34; i++) mh[i] = Math.floor(random() * 256)
  // a shared digest prefix means a shared slot hash: one long probe run, whatever the table's seed
  if (prefix !== undefined) mh.set(prefix, 2)
  return mh
}

function otherKey (random: () => number, kind: number): Uint8Array {
  const [code, length] = ([[0x13, 64], [0x1e, 32], [0x12, 31], [0x00, 5]] as const)[kind % 4]!
  const mh = new Uint8Array(2 + length)
  mh[0] = code
  mh[1] = length === 31 ? 0x20 : length // the 0x12/31 one is a truncated sha2-256: it must not go inline
  for (let i = 2; i < mh.length; i++) mh[i] = Math.floor(random() * 256)
  return mh
}

const hex = (mh: Uint8Array): string => Buffer.from(mh).toString('hex')

/** The reference: the obvious Map, with the semantics BlockTable promises. */
class Model {
  readonly entries = new Map<string, BlockInfo>()
  /** A recount's next wants, by key, while one is under way. */
  next: Map<string, number> | undefined
  private readonly nowSec: () => number

  constructor (nowSec: () => number) {
    this.nowSec = nowSec
  }

  private ensure (mh: Uint8Array): BlockInfo {
    let e = this.entries.get(hex(mh))
    if (e === undefined) {
      e = { size: 0, replicas: [], want: 0, firstSeenSec: this.nowSec(), flags: 0 }
      this.entries.set(hex(mh), e)
    }
    return e
  }

  private collect (key: string, e: BlockInfo): void {
    if (e.replicas.length === 0 && e.want === 0 && (this.next?.get(key) ?? 0) === 0) this.entries.delete(key)
  }

  addReplica (mh: Uint8Array, size: number, d: number): void {
    const e = this.ensure(mh)
    e.size = size
    if (!e.replicas.includes(d)) e.replicas.push(d)
  }

  removeReplica (mh: Uint8Array, d: number): void {
    const e = this.entries.get(hex(mh))
    if (e === undefined) return
    if (e.replicas.includes(d)) e.replicas.splice(e.replicas.indexOf(d), 1)
    this.collect(hex(mh), e)
  }

  dropDatanode (d: number): void {
    for (const [key, e] of this.entries) {
      if (e.replicas.includes(d)) e.replicas.splice(e.replicas.indexOf(d), 1)
      this.collect(key, e)
    }
  }

  setWant (mh: Uint8Array, want: number): void {
    if (want === 0 && !this.entries.has(hex(mh))) return
    const e = this.ensure(mh)
    e.want = want
    this.raiseNext(mh, want)
    this.collect(hex(mh), e)
  }

  raiseWant (mh: Uint8Array, want: number): void {
    if (want === 0) return
    const e = this.ensure(mh)
    e.want = Math.max(e.want, want)
    this.raiseNext(mh, want)
  }

  beginRecount (): void {
    if (this.next !== undefined) this.abortRecount()
    this.next = new Map()
  }

  recountWant (mh: Uint8Array, want: number): void {
    if (want === 0) return
    this.ensure(mh)
    this.raiseNext(mh, want)
  }

  finishRecount (): void {
    for (const [key, e] of this.entries) {
      e.want = this.next?.get(key) ?? 0
      this.collect(key, e)
    }
    this.next = undefined
  }

  abortRecount (): void {
    this.next = undefined
    for (const [key, e] of this.entries) this.collect(key, e)
  }

  private raiseNext (mh: Uint8Array, want: number): void {
    if (this.next === undefined) return
    this.next.set(hex(mh), Math.max(this.next.get(hex(mh)) ?? 0, want))
  }

  setFlags (mh: Uint8Array, flags: number): void {
    const e = this.entries.get(hex(mh))
    if (e !== undefined) e.flags = flags
  }
}

/** Every way the table can disagree with the model, or undefined. */
function difference (table: BlockTable, model: Model, keys: Uint8Array[]): string | undefined {
  if (table.size !== model.entries.size) return `size ${table.size}, model ${model.entries.size}`
  const models = [...model.entries.values()]
  const stored = models.filter((e) => e.replicas.length > 0).length
  if (table.storedBlocks !== stored) return `storedBlocks ${table.storedBlocks}, model ${stored}`
  for (const d of [0, 1, 2, 3, 4, 5, 6, 7, 65532, 65533, 65534]) {
    const copies = models.filter((e) => e.replicas.includes(d)).length
    if (table.copiesOn(d) !== copies) return `copiesOn(${d}) ${table.copiesOn(d)}, model ${copies}`
  }
  for (const mh of keys) {
    const want = model.entries.get(hex(mh))
    const got = table.get(mh)
    if (JSON.stringify(got) !== JSON.stringify(want)) return `get ${hex(mh)}: ${JSON.stringify(got)}, model ${JSON.stringify(want)}`
    if (table.has(mh) !== (want !== undefined)) return `has ${hex(mh)}: ${table.has(mh)}`
  }
  for (let tag = 1; tag < 8; tag++) {
    const tagged = models.filter((e) => ((e.flags >> 1) & 7) === tag).length
    if (table.tagged(tag) !== tagged) return `tagged(${tag}) ${table.tagged(tag)}, model ${tagged}`
  }
  const seen = new Map<string, BlockInfo>()
  table.forEach((mh, info) => {
    if (seen.has(hex(mh))) throw new Error(`forEach visited ${hex(mh)} twice`)
    seen.set(hex(mh), info)
  })
  if (seen.size !== model.entries.size) return `forEach visited ${seen.size}, model has ${model.entries.size}`
  for (const [key, info] of seen) {
    if (JSON.stringify(info) !== JSON.stringify(model.entries.get(key))) return `forEach ${key}: ${JSON.stringify(info)}, model ${JSON.stringify(model.entries.get(key))}`
  }
  return undefined
}

/** Runs `ops` random operations on a table and the model side by side, comparing every `every`. */
function modelRun (seed: number, ops: number, every: number): void {
  const random = prng(seed)
  const int = (n: number): number => Math.floor(random() * n)
  let now = 1_700_000_000_000
  const epochMs = 1_600_000_000_000
  const table = new BlockTable({ initialCapacity: 16, clock: () => now, epochMs, hashSeed: seed })
  const model = new Model(() => Math.floor((now - epochMs) / 1000))
  const keys: Uint8Array[] = []
  const families = [0, 1, 2].map(() => sha256Key(random).subarray(2, 10))
  for (let i = 0; i < 1500; i++) keys.push(sha256Key(random))
  for (let i = 0; i < 150; i++) keys.push(sha256Key(random, families[i % 3]))
  for (let i = 0; i < 24; i++) keys.push(otherKey(random, i))
  // a fifth of the operations go to a few hot blocks, so they pile up replicas past the inline four
  const hot = [...keys.slice(0, 40), ...keys.slice(1500, 1510), ...keys.slice(-4)]
  // mostly a few datanodes, so blocks often pass four replicas; now and then a far one
  const datanode = (): number => random() < 0.97 ? int(8) : 65534 - int(3)

  // a sweep runs alongside, a few entries per step: every entry present from its start to its end must be visited
  const stepRandom = prng(seed + 1)
  const recountRandom = prng(seed + 2)
  let sweep = table.sweep()
  let required = new Set(model.entries.keys())
  let visited = new Set<string>()
  let sweeps = 0

  for (let op = 1; op <= ops; op++) {
    now += int(3000)
    const mh = random() < 0.2 ? hot[int(hot.length)]! : keys[int(keys.length)]!
    const r = random()
    try {
      if (r < 0.40) {
        const size = random() < 0.05 ? 0xffffffff : int(1 << 20)
        const d = datanode()
        table.addReplica(mh, size, d)
        model.addReplica(mh, size, d)
      } else if (r < 0.68) {
        // mostly datanodes the block has, so entries empty out and get deleted
        const known = model.entries.get(hex(mh))?.replicas ?? []
        const d = known.length > 0 && random() < 0.8 ? known[int(known.length)]! : datanode()
        table.removeReplica(mh, d)
        model.removeReplica(mh, d)
      } else if (r < 0.85) {
        const want = random() < 0.5 ? 0 : int(6)
        table.setWant(mh, want)
        model.setWant(mh, want)
      } else if (r < 0.90) {
        const flags = int(256)
        table.setFlags(mh, flags)
        model.setFlags(mh, flags)
      } else if (r < 0.995) {
        const d = datanode()
        expect(table.hasReplica(mh, d)).toBe(model.entries.get(hex(mh))?.replicas.includes(d) ?? false)
      } else if (r < 0.999) {
        const d = datanode()
        table.dropDatanode(d)
        model.dropDatanode(d)
      } else {
        // a recount that finds nothing wanted: every want drops at once
        table.beginRecount()
        table.finishRecount()
        model.beginRecount()
        model.finishRecount()
      }
      // only the operations on every entry can delete more than the one touched
      if (r >= 0.995) required = new Set([...required].filter((key) => model.entries.has(key)))
      else if (!model.entries.has(hex(mh))) required.delete(hex(mh))
      // a recount of wants runs now and then, interleaved with everything else
      const q = recountRandom()
      const other = keys[Math.floor(recountRandom() * keys.length)]!
      const want = Math.floor(recountRandom() * 6)
      let wholesale = false
      if (q < 0.003) {
        table.beginRecount()
        model.beginRecount()
        wholesale = true
      } else if (q < 0.05 && model.next !== undefined) {
        table.recountWant(other, want)
        model.recountWant(other, want)
      } else if (q < 0.07) {
        table.raiseWant(other, want)
        model.raiseWant(other, want)
      } else if (q < 0.075 && model.next !== undefined) {
        table.finishRecount()
        model.finishRecount()
        wholesale = true
      } else if (q < 0.076 && model.next !== undefined) {
        table.abortRecount()
        model.abortRecount()
        wholesale = true
      }
      expect(table.recountInProgress).toBe(model.next !== undefined)
      if (wholesale) required = new Set([...required].filter((key) => model.entries.has(key)))
      const done = sweep.step(1 + Math.floor(stepRandom() * 20), (seen, info) => {
        const key = hex(seen)
        if (JSON.stringify(info) !== JSON.stringify(model.entries.get(key))) throw new Error(`sweep saw ${key} as ${JSON.stringify(info)}, model ${JSON.stringify(model.entries.get(key))}`)
        visited.add(key)
      })
      if (done) {
        const missed = [...required].filter((key) => !visited.has(key))
        if (missed.length > 0) throw new Error(`sweep ${sweeps + 1} missed ${missed.length} entries present throughout it, e.g. ${missed[0]}`)
        sweeps++
        sweep = table.sweep()
        required = new Set(model.entries.keys())
        visited = new Set()
      }
      if (op % every === 0 || op === ops) {
        const diff = difference(table, model, keys)
        if (diff !== undefined) throw new Error(diff)
      }
    } catch (err) {
      throw new Error(`seed ${seed}, op ${op}: ${(err as Error).message}\n  replay: BLOCK_TABLE_SEED=${seed} npx vitest run test/namenode/block-table.test.ts`, { cause: err })
    }
  }
  // entries come and go throughout, so each sweep ran under inserts, deletes and growth
  expect(sweeps).toBeGreaterThan(50)
}

describe('BlockTable against a Map model', () => {
  const replay = process.env.BLOCK_TABLE_SEED
  // fixed seeds always, plus a new one each run; a failure names its seed
  const seeds = replay !== undefined ? [Number(replay)] : [1, 2, 0xc0ffee, Math.floor(Math.random() * 2 ** 31)]
  for (const seed of seeds) {
    it(`agrees over 40,000 random operations (seed ${seed})`, () => {
      modelRun(seed, 40_000, 250)
    })
  }
})

describe('BlockTable', () => {
  const random = prng(42)

  it('grows across many doublings and keeps every entry', () => {
    const table = new BlockTable({ initialCapacity: 16 })
    const keys = Array.from({ length: 90_000 }, () => sha256Key(random))
    keys.forEach((mh, i) => { table.addReplica(mh, i, i % 7) })
    expect(table.size).toBe(keys.length)
    expect(table.memoryBytes()).toBe(131_072 * 52) // 13 doublings: the first power of two holding 90,000 at load <= 0.75
    keys.forEach((mh, i) => { expect(table.get(mh)?.size).toBe(i) })
    expect(table.get(sha256Key(random))).toBeUndefined()
    let visited = 0
    table.forEach(() => { visited++ })
    expect(visited).toBe(keys.length)
  })

  it('stays correct and does not grow under a long run of inserts and deletes', () => {
    const table = new BlockTable({ initialCapacity: 16, hashSeed: 7 })
    const family = sha256Key(random).subarray(2, 10)
    const live: Uint8Array[] = []
    let bytes = 0
    let lingering = 0
    for (let i = 0; i < 200_000; i++) {
      // every 50th key collides with all the others of its family: long runs to shift back through
      const mh = sha256Key(random, i % 50 === 0 ? family : undefined)
      table.addReplica(mh, 1, 3)
      table.setWant(mh, 2)
      live.push(mh)
      if (live.length > 3000) {
        const gone = live.splice(int(random, live.length), 1)[0]!
        table.setWant(gone, 0)
        table.removeReplica(gone, 3)
        if (table.has(gone)) lingering++
      }
      if (i === 20_000) bytes = table.memoryBytes()
    }
    expect(lingering).toBe(0)
    expect(table.memoryBytes()).toBe(bytes)
    expect(table.size).toBe(live.length)
    for (const mh of live) expect(table.get(mh)).toMatchObject({ replicas: [3], want: 2 })
  })

  it('empties completely when every datanode is dropped', () => {
    const table = new BlockTable({ initialCapacity: 16 })
    const keys = Array.from({ length: 5000 }, () => sha256Key(random))
    keys.forEach((mh, i) => { for (let d = 0; d < 1 + (i % 6); d++) table.addReplica(mh, 1, d) })
    for (let d = 0; d < 6; d++) table.dropDatanode(d)
    expect(table.size).toBe(0)
    let visited = 0
    table.forEach(() => { visited++ })
    expect(visited).toBe(0)
  })

  it('keeps replica order past four copies', () => {
    const table = new BlockTable()
    const mh = sha256Key(random)
    for (const d of [5, 1, 9, 3, 7, 2]) table.addReplica(mh, 10, d)
    table.addReplica(mh, 10, 7)
    expect(table.get(mh)?.replicas).toEqual([5, 1, 9, 3, 7, 2])
    table.removeReplica(mh, 1)
    expect(table.get(mh)?.replicas).toEqual([5, 9, 3, 7, 2])
    table.removeReplica(mh, 2)
    expect(table.get(mh)?.replicas).toEqual([5, 9, 3, 7])
    expect(table.hasReplica(mh, 7)).toBe(true)
    expect(table.hasReplica(mh, 1)).toBe(false)
  })

  it('records first sight once, relative to its epoch', () => {
    let now = 50_000
    const table = new BlockTable({ clock: () => now, epochMs: 10_000 })
    const mh = sha256Key(random)
    table.setWant(mh, 3)
    now = 99_000
    table.addReplica(mh, 100, 1)
    expect(table.get(mh)).toEqual({ size: 100, replicas: [1], want: 3, firstSeenSec: 40, flags: 0 })
    expect(new BlockTable({ clock: () => 1_700_000_123_456 }).epochMs).toBe(0)
  })

  it('returns snapshots, and reuses forEach\'s multihash view', () => {
    const table = new BlockTable()
    const a = sha256Key(random)
    const b = otherKey(random, 0)
    table.addReplica(a, 1, 1)
    table.addReplica(sha256Key(random), 1, 1)
    table.addReplica(b, 2, 1)
    const info = table.get(a)!
    info.replicas.push(99)
    expect(table.get(a)?.replicas).toEqual([1])
    const views = new Set<Uint8Array>()
    const copies: string[] = []
    table.forEach((mh) => {
      if (mh.length === 34) views.add(mh)
      copies.push(hex(mh))
    })
    expect(views.size).toBe(1)
    expect(copies).toContain(hex(a))
    expect(copies).toContain(hex(b))
  })

  it('lets forEach callbacks set flags but refuses other changes', () => {
    const table = new BlockTable()
    const keys = Array.from({ length: 10 }, () => sha256Key(random))
    for (const mh of keys) table.addReplica(mh, 1, 1)
    table.forEach((mh) => { table.setFlags(mh, 1) })
    for (const mh of keys) expect(table.get(mh)?.flags).toBe(1)
    expect(() => { table.forEach((mh) => { table.removeReplica(mh, 1) }) }).toThrow(/changed during forEach/)
  })

  it('keys by multihash, so CIDv0 and CIDv1 of a block are one entry', async () => {
    const digest = await sha256.digest(new TextEncoder().encode('cairn'))
    const v0 = CID.createV0(digest)
    const v1 = CID.createV1(raw.code, digest)
    const table = new BlockTable()
    table.addReplica(multihashOf(v0), 5, 1)
    table.addReplica(multihashOf(v1), 5, 2)
    expect(multihashOf(v1)).toEqual(v1.multihash.bytes)
    expect(table.size).toBe(1)
    expect(table.get(multihashOf(v1))?.replicas).toEqual([1, 2])
  })

  it('rejects values its fields cannot hold', () => {
    const table = new BlockTable()
    const mh = sha256Key(random)
    expect(() => { table.addReplica(mh, 2 ** 32, 1) }).toThrow(RangeError)
    expect(() => { table.addReplica(mh, -1, 1) }).toThrow(RangeError)
    expect(() => { table.addReplica(mh, 1, 65535) }).toThrow(RangeError)
    expect(() => { table.addReplica(mh, 1, 1.5) }).toThrow(RangeError)
    expect(() => { table.setWant(mh, 256) }).toThrow(RangeError)
    expect(() => { table.setFlags(mh, -1) }).toThrow(RangeError)
    expect(table.size).toBe(0)
  })
})

function int (random: () => number, n: number): number {
  return Math.floor(random() * n)
}
