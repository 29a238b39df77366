#!/usr/bin/env node
/**
 * Bundles the `cairn` command (cli/main.ts and everything it imports) into
 * one file, dist/cairn.js, with a manifest of the files it was built from.
 * cli/launch.js runs the bundle only while every one of those files is as
 * the manifest says, and the sources otherwise: a stale bundle is never run.
 *
 * Why: Node resolves, reads and compiles each module separately, and a
 * command loads hundreds of them (libp2p is many small packages), so every
 * `cairn` run spent most of a second starting. One file starts in a third
 * of that. Not minified, so stack traces stay readable.
 *
 * Runs from postinstall and never fails an install (cairn then runs from the
 * sources, slower to start, the same otherwise); `--strict` makes a failure
 * exit 1. `--out DIR` writes elsewhere (tests).
 *
 *   node scripts/build-bundle.mjs [--out DIR] [--strict]
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BUNDLE_DIR, MANIFEST_VERSION } from '../cli/launch.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ENTRY = path.join(ROOT, 'cli', 'main.ts')
/**
 * Besides the modules, what a bundle depends on: the installed dependencies
 * (npm rewrites node_modules/.package-lock.json whenever it changes them).
 */
const EXTRA_INPUTS = ['package.json', 'package-lock.json', 'node_modules/.package-lock.json']

async function build (out) {
  let rolldown
  try {
    ({ rolldown } = await import('rolldown'))
  } catch {
    throw new Error('rolldown is not installed (a dev dependency: npm install without --omit=dev)')
  }
  const temp = `${out}.tmp-${process.pid}`
  rmSync(temp, { recursive: true, force: true })
  try {
    const bundle = await rolldown({
      input: ENTRY,
      cwd: ROOT,
      platform: 'node',
      // native addons are found at run time from the package (fuse/binding.ts, core/util/malloc.ts)
      external: ['fuse-native'],
      logLevel: 'warn'
    })
    const { output } = await bundle.write({ dir: temp, format: 'esm', entryFileNames: 'cairn.js', codeSplitting: false })
    await bundle.close()
    const chunk = output.find((o) => o.type === 'chunk' && o.isEntry)
    if (chunk === undefined) throw new Error('rolldown wrote no entry chunk')
    const own = chunk.moduleIds
      .filter((id) => path.isAbsolute(id) && !id.includes(`${path.sep}node_modules${path.sep}`))
      .map((id) => path.relative(ROOT, id))
    const files = [...new Set([...own, ...EXTRA_INPUTS])].sort()
    const inputs = files.flatMap((file) => {
      try {
        const info = statSync(path.join(ROOT, file))
        return [{ file, size: info.size, mtimeMs: info.mtimeMs }]
      } catch {
        return []
      }
    })
    const manifest = { version: MANIFEST_VERSION, builtAt: new Date().toISOString(), modules: chunk.moduleIds.length, inputs }
    writeFileSync(path.join(temp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`)
    // the bundle first, then the manifest that vouches for it
    mkdirSync(out, { recursive: true })
    renameSync(path.join(temp, 'cairn.js'), path.join(out, 'cairn.js'))
    renameSync(path.join(temp, 'manifest.json'), path.join(out, 'manifest.json'))
    return manifest
  } finally {
    rmSync(temp, { recursive: true, force: true })
  }
}

const { values } = parseArgs({ options: { strict: { type: 'boolean' }, out: { type: 'string' } } })
const out = path.resolve(values.out ?? BUNDLE_DIR)
try {
  const manifest = await build(out)
  console.log(`cairn: bundled ${manifest.modules} modules into ${path.relative(process.cwd(), path.join(out, 'cairn.js')) || 'cairn.js'}`)
} catch (err) {
  if (values.strict === true) {
    console.error(`cairn: the bundle was not built: ${err.message}`)
    process.exitCode = 1
  } else {
    console.warn(`cairn: warning: the bundle was not built (${err.message}); cairn runs from its sources, slower to start (npm run build to retry)`)
  }
}
