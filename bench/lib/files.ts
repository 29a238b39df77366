import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { statfs } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'

export async function sha256File (file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hash)
  return hash.digest('hex')
}

export async function freeBytes (dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/**
 * Flushes dirty pages between measured steps, so one step's writeback
 * (the reference writes without fsync) is not billed to the next. Outside
 * every measurement; a no-op where `sync` is missing.
 */
export async function settle (): Promise<void> {
  await new Promise<void>((resolve) => {
    execFile('sync', () => { resolve() })
  })
}
