import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import path from 'node:path'
import { createHash } from 'node:crypto'

/** A directory tree as { relative path -> content hash | 'dir' | '-> target' }, to compare trees exactly. */
export async function snapshot (root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name)
      const key = rel === '' ? name : `${rel}/${name}`
      const info = await lstat(full)
      if (info.isDirectory()) {
        out[key] = 'dir'
        await walk(full, key)
      } else if (info.isSymbolicLink()) {
        out[key] = `-> ${await readlink(full)}`
      } else {
        out[key] = createHash('sha256').update(await readFile(full)).digest('hex')
      }
    }
  }
  await walk(root, '')
  return out
}
