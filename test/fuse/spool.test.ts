import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OpenFile } from '../../fuse/open-file.ts'
import type { FsNode } from '../../fuse/node-table.ts'
import { MEMORY_SPOOL_BYTES } from '../../fuse/spool.ts'
import { prng } from '../helpers/data.ts'

/**
 * A file being written: in memory while small, moved to a spool file on
 * local disk when it grows past MEMORY_SPOOL_BYTES, with changes arriving
 * while it moves. Every read and the bytes a store would take must match
 * a model of the file.
 */
describe('spool', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(path.join(tmpdir(), 'cairn-spool-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const newFile = async (): Promise<OpenFile> => {
    const node: FsNode = { kind: 'file', size: 0, mode: 0o644, mtimeMs: 0 }
    // a new file never reads stored content, so it needs no cluster
    const file = new OpenFile('/f', node, dir, undefined as never)
    file.markNew()
    await file.ensureSpool(true)
    return file
  }

  const contentOf = async (file: OpenFile): Promise<Buffer> => {
    const parts: Uint8Array[] = []
    for await (const part of file.spoolContent()) parts.push(part)
    return Buffer.concat(parts)
  }

  const readAll = async (file: OpenFile, size: number): Promise<Buffer> => {
    const out = Buffer.alloc(size + 10)
    const n = await file.read(out, size + 10, 0)
    return out.subarray(0, n)
  }

  it('random writes and truncates across the move to disk match a model, changes racing the move included', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = prng(seed)
      const file = await newFile()
      let model = Buffer.alloc(0)
      let movedAt: number | undefined
      for (let op = 0; op < 300; op++) {
        const roll = random()
        if (roll < 0.15) {
          const size = Math.floor(random() * MEMORY_SPOOL_BYTES * 1.5)
          await file.truncate(size)
          const next = Buffer.alloc(size)
          model.copy(next, 0, 0, Math.min(size, model.byteLength))
          model = next
        } else {
          // a burst of writes not awaited one by one, as the kernel may send them
          // (overlapping writes in flight at once have no defined order, on any disk: those wait)
          let writes: Array<Promise<number>> = []
          let ranges: Array<[number, number]> = []
          for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
            const at = Math.floor(random() * MEMORY_SPOOL_BYTES * 1.3)
            const bytes = Buffer.alloc(1 + Math.floor(random() * 9000), Math.floor(random() * 256))
            if (ranges.some(([from, to]) => at < to && from < at + bytes.byteLength)) {
              await Promise.all(writes)
              writes = []
              ranges = []
            }
            ranges.push([at, at + bytes.byteLength])
            writes.push(file.write(bytes, bytes.byteLength, at))
            if (model.byteLength < at + bytes.byteLength) {
              const next = Buffer.alloc(at + bytes.byteLength)
              model.copy(next)
              model = next
            }
            bytes.copy(model, at)
          }
          await Promise.all(writes)
        }
        if (movedAt === undefined && (await readdir(dir)).length > 0) movedAt = op
        expect(file.node.size).toBe(model.byteLength)
        if (op % 25 === 0) expect((await readAll(file, model.byteLength)).equals(model)).toBe(true)
      }
      expect((await readAll(file, model.byteLength)).equals(model)).toBe(true)
      expect((await contentOf(file)).equals(model)).toBe(true)
      // the run did move to disk (so both kinds were exercised)
      expect(movedAt).toBeDefined()
      await file.close()
      expect(await readdir(dir)).toEqual([])
    }
  })

  it('a small file stays in memory, and a write-back journal gets its bytes rather than a path', async () => {
    const file = await newFile()
    const bytes = Buffer.from('hello, spool')
    await file.write(bytes, bytes.byteLength, 0)
    expect(await readdir(dir)).toEqual([])
    const record = file.spoolRecord() as { bytes: Uint8Array }
    expect(Buffer.from(record.bytes).toString()).toBe('hello, spool')
    // what the store takes is a copy: a later change does not reach into it
    const content = await contentOf(file)
    await file.write(Buffer.from('J'), 1, 0)
    expect(content.toString()).toBe('hello, spool')
    expect((await contentOf(file)).toString()).toBe('Jello, spool')
    await file.close()
  })
})
