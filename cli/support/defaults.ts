import path from 'node:path'
import { loadConfig } from '../../core/index.ts'
import type { LoadedConfig } from '../../core/index.ts'

/**
 * The configuration a service falls back on for flags not given: only one
 * named by --config or $CAIRN_CONFIG. A service never picks up a file found
 * by walking up from wherever it happens to be started.
 */
export async function optionalConfig (explicit?: string): Promise<LoadedConfig | undefined> {
  const file = explicit ?? (process.env.CAIRN_CONFIG === '' ? undefined : process.env.CAIRN_CONFIG)
  return file === undefined ? undefined : await loadConfig(file)
}

export function resolveIn (loaded: LoadedConfig | undefined, relative: string): string {
  return loaded === undefined ? path.resolve(relative) : path.resolve(loaded.dir, relative)
}
