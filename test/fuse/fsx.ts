import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { prng } from '../helpers/data.ts'

export interface FsxOptions {
  /** The file under test (in the mount). */
  file: string
  /** The model: the same operations on local disk. */
  model: string
  seed: number
  ops: number
  /** Largest file size the exerciser makes. */
  maxSize: number
  /** Largest single write or read. */
  maxLength: number
  /** Close and reopen (a flush and publish) about every this many operations. */
  reopenEvery: number
}


/**
 * In the style of fsx: random writes (anywhere, past the end too, so the
 * file gets holes), truncates (shrinking and growing), reads at random
 * offsets and sizes checked byte for byte against the model, fsyncs, and
 * close/reopen. Throws with the seed and the last operations on the first
 * difference.
 */
export async function runFsx (options: FsxOptions): Promise<{ ops: number, reads: number, bytesChecked: number }> {
  const random = prng(options.seed)
  const int = (n: number): number => Math.floor(random() * n)
  let file: FileHandle = await open(options.file, 'w+')
  let model: FileHandle = await open(options.model, 'w+')
  let size = 0
  const history: string[] = []
  let reads = 0
  let bytesChecked = 0
  const fail = (what: string): never => {
    throw new Error(`fsx seed ${options.seed}: ${what}\nlast operations:\n${history.slice(-20).join('\n')}`)
  }
  try {
    for (let i = 0; i < options.ops; i++) {
      const roll = random()
      if (roll < 0.4) {
        const offset = int(options.maxSize)
        const length = 1 + int(Math.min(options.maxLength, options.maxSize - offset))
        const data = Buffer.alloc(length)
        let j = 0
        for (; j + 4 <= length; j += 4) data.writeUInt32LE((random() * 0x100000000) >>> 0, j)
        for (; j < length; j++) data[j] = int(256)
        history.push(`${i} write ${offset}+${length}`)
        const a = await file.write(data, 0, length, offset)
        await model.write(data, 0, length, offset)
        if (a.bytesWritten !== length) fail(`short write ${a.bytesWritten}/${length}`)
        size = Math.max(size, offset + length)
      } else if (roll < 0.5) {
        const to = int(options.maxSize)
        history.push(`${i} truncate ${to}`)
        await file.truncate(to)
        await model.truncate(to)
        size = to
      } else if (roll < 0.97) {
        const offset = int(Math.max(1, size + 1024))
        const length = 1 + int(options.maxLength)
        history.push(`${i} read ${offset}+${length} (size ${size})`)
        const got = Buffer.alloc(length)
        const want = Buffer.alloc(length)
        const a = await file.read(got, 0, length, offset)
        const b = await model.read(want, 0, length, offset)
        if (a.bytesRead !== b.bytesRead) fail(`read ${offset}+${length}: ${a.bytesRead} bytes, model ${b.bytesRead}`)
        if (!got.subarray(0, a.bytesRead).equals(want.subarray(0, b.bytesRead))) fail(`read ${offset}+${length}: bytes differ`)
        reads++
        bytesChecked += a.bytesRead
      } else if (roll < 0.985) {
        history.push(`${i} fsync`)
        await file.sync()
      } else {
        history.push(`${i} close+reopen`)
        await file.close()
        file = await open(options.file, 'r+')
        const stat = await file.stat()
        if (stat.size !== size) fail(`size after reopen ${stat.size}, model ${size}`)
      }
      if (options.reopenEvery > 0 && i > 0 && i % options.reopenEvery === 0) {
        history.push(`${i} close+reopen (periodic)`)
        await file.close()
        file = await open(options.file, 'r+')
      }
    }
    const stat = await file.stat()
    if (stat.size !== size) fail(`final size ${stat.size}, model ${size}`)
  } finally {
    await file.close().catch(() => {})
    await model.close().catch(() => {})
  }
  return { ops: options.ops, reads, bytesChecked }
}
