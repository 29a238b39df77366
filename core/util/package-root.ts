import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const roots = new Map<string, string | undefined>()

/**
 * The directory of the Cairn package a module belongs to: the nearest
 * directory above `moduleUrl` whose package.json is named "cairn". Files
 * that ship beside the code (native addons) are found from it, because a
 * path relative to the module would differ between the sources
 * (core/util/x.ts) and the bundle (dist/cairn.js). Undefined when there is
 * none. Reads a few small files once per directory (start-up only).
 */
export function packageRoot (moduleUrl: string = import.meta.url): string | undefined {
  const start = path.dirname(fileURLToPath(moduleUrl))
  if (roots.has(start)) return roots.get(start)
  let found: string | undefined
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }
      if (pkg.name === 'cairn') { found = dir; break }
    } catch {
      // no package.json here, or not JSON: keep going up
    }
    if (path.dirname(dir) === dir) break
  }
  roots.set(start, found)
  return found
}
