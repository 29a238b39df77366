import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateClusterKey, LocalFileError, makeDirectories, readClusterKey } from '../../core/index.ts'

/** Reads the cluster key, creating it (mode 0600) when `create` and it does not exist yet. */
export async function ensureClusterKey (file: string, create: boolean): Promise<{ key: Uint8Array, created: boolean }> {
  if (create && !existsSync(file)) {
    try {
      await makeDirectories(path.dirname(file))
      await writeFile(file, generateClusterKey(), { mode: 0o600, flag: 'wx' })
    } catch (err) {
      throw new LocalFileError(`cannot create the cluster key ${file}: ${(err as Error).message}`, {
        cause: err,
        hint: 'pass --cluster-key <file> in a directory this user can write to, or choose another --data'
      })
    }
    return { key: await readClusterKey(file), created: true }
  }
  return { key: await readClusterKey(file), created: false }
}
