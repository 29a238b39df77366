import { randomBytes } from 'node:crypto'
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readLocalFile } from '../../../core/content/local-source.ts'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'cairn-local-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

async function readAll (file: string, onChunk?: (chunk: Uint8Array) => Promise<void>, knownSize?: number): Promise<{ bytes: Buffer, pieces: number[] }> {
  const parts: Uint8Array[] = []
  for await (const chunk of readLocalFile(file, {}, knownSize)) {
    parts.push(chunk)
    await onChunk?.(chunk)
  }
  return { bytes: Buffer.concat(parts), pieces: parts.map((p) => p.byteLength) }
}

describe('reading a local file for a put', () => {
  it('reads every size exactly, in pieces of at most 1 MiB and never bigger than what is left', async () => {
    for (const size of [0, 1, 100, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 - 7]) {
      const file = path.join(dir, `f-${size}`)
      const bytes = randomBytes(size)
      await writeFile(file, bytes)
      const got = await readAll(file)
      expect(got.bytes.equals(bytes)).toBe(true)
      expect(Math.max(0, ...got.pieces)).toBeLessThanOrEqual(1024 * 1024)
      // a small file costs one buffer of its own size, not a megabyte
      if (size > 0 && size < 1024 * 1024) expect(got.pieces).toEqual([size])
    }
  })

  it('reads on when the file grows while it is read', async () => {
    const file = path.join(dir, 'growing')
    const first = randomBytes(1024 * 1024 + 10)
    const more = randomBytes(5000)
    await writeFile(file, first)
    let grown = false
    const got = await readAll(file, async () => {
      if (!grown) { grown = true; await appendFile(file, more) }
    })
    expect(got.bytes.equals(Buffer.concat([first, more]))).toBe(true)
  })

  it('reads a small file whose size the walk knows in one piece, and still reads it all if it changed since', async () => {
    for (const size of [0, 1, 5000, 256 * 1024]) {
      const file = path.join(dir, `known-${size}`)
      const bytes = randomBytes(size)
      await writeFile(file, bytes)
      const got = await readAll(file, undefined, size)
      expect(got.bytes.equals(bytes)).toBe(true)
      expect(got.pieces).toEqual(size === 0 ? [] : [size])
      // grown since the walk's lstat (the walk said fewer bytes): the rest is read on
      const grown = await readAll(file, undefined, Math.max(0, size - 100))
      expect(grown.bytes.equals(bytes)).toBe(true)
      // shrunk since (the walk said more): what is there, and no more
      const shrunk = await readAll(file, undefined, size + 100)
      expect(shrunk.bytes.equals(bytes)).toBe(true)
    }
    // grown by more than a read: pieces stay within 1 MiB
    const file = path.join(dir, 'known-grown-big')
    const bytes = randomBytes(3 * 1024 * 1024 + 5)
    await writeFile(file, bytes)
    const got = await readAll(file, undefined, 10)
    expect(got.bytes.equals(bytes)).toBe(true)
    expect(Math.max(...got.pieces)).toBeLessThanOrEqual(1024 * 1024)
  })

  it('a missing file fails with a clear error, whichever way it is read', async () => {
    for (const knownSize of [undefined, 10]) {
      await expect(readAll(path.join(dir, 'no-such-file'), undefined, knownSize)).rejects.toThrow(/no-such-file: no such file or directory/)
    }
  })
})
