#!/usr/bin/env node
/**
 * Builds native/malloc-tuning.c (mallopt for long-running Cairn processes,
 * see core/util/malloc.ts) into native/build/malloc-tuning.node.
 *
 * Runs from postinstall and never fails an install: without a compiler or
 * headers it prints one warning line, and the processes run on glibc's
 * defaults (slower, not wrong). `--strict` turns a failure into exit 1.
 *
 *   node scripts/build-malloc-tuning.mjs [--strict]
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, renameSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BuildToolsMissingError, compiler, nodeIncludeDir } from './native-tools.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SOURCE = path.join(ROOT, 'native', 'malloc-tuning.c')
const OUT = path.join(ROOT, 'native', 'build', 'malloc-tuning.node')
// a .node name, so the check below loads it as an addon
const TEMP = path.join(ROOT, 'native', 'build', 'malloc-tuning.tmp.node')

function build () {
  if (process.platform !== 'linux') throw new BuildToolsMissingError(`glibc's mallopt is tuned on Linux only (this is ${process.platform})`)
  const include = nodeIncludeDir(createRequire(path.join(ROOT, 'package.json')))
  const cc = compiler()
  mkdirSync(path.dirname(OUT), { recursive: true })
  const result = spawnSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-DBUILDING_NODE_EXTENSION', `-I${include}`, SOURCE, '-o', TEMP], { encoding: 'utf8' })
  if (result.status !== 0) {
    const first = ((result.stderr ?? '').split('\n').find((l) => /error/i.test(l)) ?? result.error?.message ?? `exit ${result.status}`).trim()
    throw new BuildToolsMissingError(`${cc} failed: ${first}`)
  }
  const probe = spawnSync(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(TEMP)}).tuneMalloc)`], { encoding: 'utf8' })
  if (probe.stdout !== 'function') throw new BuildToolsMissingError(`the built module does not load: ${(probe.stderr ?? '').trim().split('\n')[0]}`)
  renameSync(TEMP, OUT)
}

const { values } = parseArgs({ options: { strict: { type: 'boolean' } } })
try {
  build()
  console.log(`cairn: built ${path.relative(ROOT, OUT)}`)
} catch (err) {
  if (values.strict === true) {
    console.error(`cairn: ${err.name}: ${err.message}`)
    process.exitCode = 1
  } else {
    console.warn(`cairn: warning: ${path.relative(ROOT, OUT)} was not built (${err.message}); services run on glibc's default malloc settings (install gcc and libc6-dev, then npm run build:native)`)
  }
}
