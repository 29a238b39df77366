import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateClusterKey, readClusterKey } from '../../core/index.ts'

/** Reads the cluster key, creating it (mode 0600) when `create` and it does not exist yet. */
export async function ensureClusterKey (file: string, create: boolean): Promise<{ key: Uint8Array, created: boolean }> {
  if (create && !existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, generateClusterKey(), { mode: 0o600, flag: 'wx' })
    return { key: await readClusterKey(file), created: true }
  }
  return { key: await readClusterKey(file), created: false }
}
