/**
 * Small-file operations per second in a directory, as a program sees them:
 * create (open, write 4 KiB, close), stat, read, remove, one at a time.
 * Usage: node small-files.ts <dir> <count>; prints one JSON line.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'

const [dir, countText] = process.argv.slice(2) as [string, string]
const count = Number(countText)
const data = randomBytes(4096)
await mkdir(dir, { recursive: true })
const names = Array.from({ length: count }, (_, i) => path.join(dir, `f${i}.bin`))
const rate = async (fn: (name: string) => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  for (const name of names) await fn(name)
  return count * 1000 / (performance.now() - start)
}
const create = await rate(async (n) => { await writeFile(n, data) })
// past the attribute cache, so stats reach the filesystem
await new Promise((resolve) => setTimeout(resolve, 1100))
const stats = await rate(async (n) => await stat(n))
const reads = await rate(async (n) => { if ((await readFile(n)).length !== 4096) throw new Error(`short read of ${n}`) })
const removes = await rate(async (n) => { await rm(n) })
process.stdout.write(`${JSON.stringify({ create, stat: stats, read: reads, remove: removes })}\n`)
