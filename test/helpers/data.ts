import { createCipheriv, createHash } from 'node:crypto'

/**
 * Deterministic pseudo-random bytes (AES-128-CTR keystream of a seed), fast
 * enough for gigabytes and the same on every run, so failures replay.
 */
export async function * pseudoRandom (size: number, seed = 'cairn', chunkBytes = 1024 * 1024): AsyncGenerator<Uint8Array> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(chunkBytes)
  for (let done = 0; done < size; done += chunkBytes) {
    const n = Math.min(chunkBytes, size - done)
    yield cipher.update(n === chunkBytes ? zeros : zeros.subarray(0, n))
  }
}

export async function pseudoRandomBuffer (size: number, seed = 'cairn'): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const part of pseudoRandom(size, seed)) parts.push(part)
  return Buffer.concat(parts)
}

export function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** mulberry32: a small seedable PRNG; the same seed replays the same run. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
