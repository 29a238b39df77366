// How the `cairn` command starts: which file runs (the bundle or the
// TypeScript sources) and with which Node options. Plain JavaScript, because
// cli/bin.js runs it before it knows the Node can run TypeScript (Node 20
// cannot); types in launch.d.ts. Test helpers and the benchmark start Cairn
// through it too, so they run what a user's `cairn` runs.
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

/**
 * Node options every service starts with: `cairn up` forks its services
 * with them, and the `cairn` command (cli/bin.js) re-runs a service command
 * (`cairn datanode`, `cairn mount`, ...) with them. They must be given when
 * the process starts: V8 sizes its heap then, setting them later has no
 * effect (measured), and NODE_OPTIONS refuses them. `node cli/main.ts
 * datanode` goes without: slower, the same otherwise.
 *
 * `--initial-old-space-size`: a service's live heap is small (about 30 MB
 * for a datanode) while blocks pass through it as external memory, so V8's
 * limits, computed from the live heap and shrunk further by its memory
 * reducer once idle, let a 256 MiB put trigger 3-24 full mark-compacts on a
 * datanode. Starting the old generation at 128 MB keeps them to 0-1.
 * Measured (2026-11-25, two hand-started datanodes in one cluster, every
 * put stored on both, six 256 MiB puts, then again with the flag on the
 * other one): 0.88-1.28 CPU-seconds per put with it, 1.17-1.78 without;
 * resident memory the same (about 350 MB).
 */
export const SERVICE_NODE_FLAGS = Object.freeze(['--initial-old-space-size=128'])

/** Commands that run until stopped, and start with SERVICE_NODE_FLAGS. */
export const SERVICE_COMMANDS = new Set(['namenode', 'datanode', 'up', 'mount', 'gateway'])

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The TypeScript entry point, which any Node from 22.18 runs as it is. */
export const SOURCE_ENTRY = path.join(ROOT, 'cli', 'main.ts')
/** Where scripts/build-bundle.mjs writes the bundle and its manifest. */
export const BUNDLE_DIR = path.join(ROOT, 'dist')
export const BUNDLE_ENTRY = path.join(BUNDLE_DIR, 'cairn.js')
export const BUNDLE_MANIFEST = path.join(BUNDLE_DIR, 'manifest.json')
/** The manifest's format; a bundle with another is not used. */
export const MANIFEST_VERSION = 1

/** The subcommand, found as cli/program.ts finds it: the first word that is not an option or --config's value. */
export function commandName (args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config') { i++; continue }
    if (!args[i].startsWith('-')) return args[i]
  }
  return undefined
}

/** The Node options a run of `cairn <args>` needs at start. */
export function nodeFlagsFor (args) {
  return SERVICE_COMMANDS.has(commandName(args) ?? '') ? [...SERVICE_NODE_FLAGS] : []
}

/**
 * Whether the bundle in `dir` was built from the files as they are now:
 * every source file it was built from (and the installed dependencies'
 * lock) still has the size and modification time the manifest recorded.
 * Loading one file instead of some 880 modules takes a command's start-up
 * from about 0.9 s to 0.35 s here, but a bundle older than an edit would run
 * old code, so any doubt (no manifest, another format, a file changed or
 * gone) answers false and the sources run.
 */
export function bundleIsFresh (dir = BUNDLE_DIR, root = ROOT) {
  let manifest
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
  } catch {
    return false
  }
  if (manifest?.version !== MANIFEST_VERSION || !Array.isArray(manifest.inputs) || manifest.inputs.length === 0) return false
  for (const input of manifest.inputs) {
    let info
    try {
      info = statSync(path.join(root, input.file))
    } catch {
      return false
    }
    if (info.size !== input.size || info.mtimeMs !== input.mtimeMs) return false
  }
  return true
}

/** The file `cairn` runs: the bundle when it is fresh, the sources otherwise. */
export function cliEntry () {
  return bundleIsFresh() ? BUNDLE_ENTRY : SOURCE_ENTRY
}
