// How the `cairn` command starts: which file runs (the bundle or the
// TypeScript sources) and with which Node options. Plain JavaScript, because
// cli/bin.js runs it before it knows the Node can run TypeScript (Node 20
// cannot); types in launch.d.ts. Test helpers and the benchmark start Cairn
// through it too, so they run what a user's `cairn` runs.
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

/**
 * Node options that services and bulk transfers start with: `cairn up`
 * forks its services with them, and the `cairn` command (cli/bin.js) re-runs
 * those commands with them (nodeFlagsFor). They must be given when the
 * process starts: V8 sizes its heap then, setting them later has no effect
 * (measured), and NODE_OPTIONS refuses them. `node cli/main.ts datanode`
 * goes without: slower, the same otherwise.
 *
 * `--initial-old-space-size`: the live heap of a Cairn process is small
 * (30-40 MB, most of it libp2p's code) while blocks pass through it as
 * external memory, so V8's limits, computed from the live heap and shrunk
 * further by its memory reducer once idle, let a 256 MiB put trigger 3-24
 * full mark-compacts on a datanode and 16 on the client. A larger initial
 * old generation keeps them to a few. Measured (2026-11-25): a datanode used
 * 0.88-1.28 CPU-seconds per 256 MiB put with 128 MB, 1.17-1.78 without (two
 * hand-started datanodes, six puts each way). A bare three-copy transfer
 * with the data channel's TLS (bench/reference/bare-copies.ts) took 2.0-2.2 s
 * with it and 2.8-3.9 s without, once the process had loaded Cairn's modules.
 */
export const SERVICE_NODE_FLAGS = Object.freeze(['--initial-old-space-size=128'])

/**
 * The same for one-shot bulk transfers, smaller: a client's heap also holds
 * the importer's state for a tree of small files, where 128 MB only let
 * garbage pile up. Measured on one idle cluster, alternated: a 256 MiB put
 * took 1.72-1.92 s with 64 MB, 1.71-2.08 s with 128 and 1.80-2.39 s without
 * (user CPU 0.92-1.03, 0.91-0.99, 1.17-1.34 s; peak 187-200, 211-215,
 * 170-187 MB); a put of 4,500 files of 1-11 KB peaked at 294-305 MB with
 * 64, 343-356 with 128 and 296-309 without, in the same time.
 */
export const BULK_NODE_FLAGS = Object.freeze(['--initial-old-space-size=64'])

/** Commands that run until stopped: they start with SERVICE_NODE_FLAGS. */
export const SERVICE_COMMANDS = new Set(['namenode', 'datanode', 'up', 'mount', 'gateway'])

/**
 * Commands that may move a lot of data through one process: they start
 * with BULK_NODE_FLAGS (a re-run costs 30-45 ms of start-up where the Node
 * in use could run Cairn itself).
 */
export const BULK_COMMANDS = new Set(['put', 'get', 'cat', 'import', 'export'])

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
  const command = commandName(args) ?? ''
  if (SERVICE_COMMANDS.has(command)) return [...SERVICE_NODE_FLAGS]
  if (BULK_COMMANDS.has(command)) return [...BULK_NODE_FLAGS]
  return []
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
