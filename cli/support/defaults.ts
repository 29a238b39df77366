import path from 'node:path'
import { findConfigFile, loadConfig } from '../../core/index.ts'
import type { LoadedConfig } from '../../core/index.ts'

/** The configuration a service falls back on for flags not given, if one is found. */
export async function optionalConfig (explicit?: string): Promise<LoadedConfig | undefined> {
  const file = findConfigFile(explicit)
  return file === undefined ? undefined : await loadConfig(file)
}

export function resolveIn (loaded: LoadedConfig | undefined, relative: string): string {
  return loaded === undefined ? path.resolve(relative) : path.resolve(loaded.dir, relative)
}
