import { createCipheriv, createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { MiB } from './units.ts'

/**
 * Writes `bytes` of incompressible data and returns its sha256 (hex),
 * streaming, so a 4 GiB file needs 1 MiB of memory. The data is an
 * AES-256-CTR keystream keyed by `seed`: no two 1 MiB chunks are alike (so
 * nothing deduplicates), and the same seed gives the same file (so CIDs are
 * the same from one benchmark to the next).
 */
export async function writeRandomFile (file: string, bytes: number, seed: string): Promise<string> {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(MiB)
  const hash = createHash('sha256')
  const handle = await open(file, 'w')
  try {
    for (let written = 0; written < bytes;) {
      const n = Math.min(MiB, bytes - written)
      const chunk = cipher.update(n === MiB ? zeros : zeros.subarray(0, n))
      hash.update(chunk)
      // a short write loops: FileHandle.write may write less than asked
      for (let offset = 0; offset < chunk.byteLength;) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset)
        offset += bytesWritten
      }
      written += n
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}
