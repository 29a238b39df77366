#!/usr/bin/env node
/**
 * Builds fuse-native's binding from its own C source with Cairn's utimens
 * fix, and installs it where node-gyp-build looks before the prebuilt ones
 * (node_modules/fuse-native/build/Release/fuse.node).
 *
 * fuse-native 2.2.6's binding hands JS the access time in place of the
 * modification time, so tar -x and cp -p lost their mtimes. It never sets
 * flag_utime_omit_ok either, so libfuse 2.9 calls utimens only when a
 * program sets both times and silently drops a change of one (touch -m -d,
 * touch -a); and with the flag, UTIME_NOW and UTIME_OMIT would reach JS
 * as the same ~1,073 ms. The patched binding sets the flag, resolves
 * UTIME_NOW to the time of the call, passes UTIME_OMIT as 2^53 - 1 ms (see
 * fuse/binding.ts), and exports `cairn_utimens_patch` so the mount can
 * tell which binding it has.
 *
 * Plain JavaScript on purpose: postinstall may run under any Node npm
 * finds, before the project's own Node is usable.
 *
 * It runs from postinstall and never fails an install: without a C
 * compiler, libc headers or Node's headers it prints one warning line and
 * leaves the prebuilt binding. A fuse-native whose source no longer
 * matches the patch (an upgrade) is reported loudly, and the test that
 * checks the loaded binding fails. `--strict` (npm run build:fuse) turns
 * every problem into a non-zero exit.
 *
 *   node scripts/build-fuse-binding.mjs [--strict] [--source <fuse-native.c>] [--out <fuse.node>]
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BuildToolsMissingError, compiler, nodeIncludeDir } from './native-tools.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Bumped with every change to the patch; fuse/binding.ts expects the same number. */
const PATCH_REVISION = 1

/** fuse-native's source is not the text the patch was written against (an upgrade): the patch needs a look. */
class PatchMismatchError extends Error {
  name = 'PatchMismatchError'
  code = 'ERR_PATCH_MISMATCH'
}

/** The compiler is there but the patched source does not compile. */
class BuildFailedError extends Error {
  name = 'BuildFailedError'
  code = 'ERR_BUILD_FAILED'
}

/** The compiled binding does not load or lacks the patch marker. */
class BindingCheckError extends Error {
  name = 'BindingCheckError'
  code = 'ERR_BINDING_CHECK'
}

const HELPER = `
// cairn: UTIME_NOW is resolved here, at the time of the call; UTIME_OMIT becomes 2^53 - 1 ms
// (Number.MAX_SAFE_INTEGER: exact as a double and no real time) so JS can leave that time alone.
// A time before 1970 would wrap around in the unsigned milliseconds JS gets: it is clamped to 0.
#include <sys/stat.h>
#include <time.h>
static const uint32_t cairn_utimens_patch = ${PATCH_REVISION};
static uint64_t cairn_utimens_ms (const struct timespec* ts) {
  if (ts->tv_nsec == UTIME_OMIT) return 9007199254740991ULL;
  struct timespec now;
  if (ts->tv_nsec == UTIME_NOW) {
    clock_gettime(CLOCK_REALTIME, &now);
    ts = &now;
  }
  if (ts->tv_sec < 0) return 0;
  return timespec_to_uint64(ts);
}
`

/** Each `find` must occur exactly once in fuse-native.c 2.2.6. */
const EDITS = [
  {
    what: 'a helper after timespec_to_uint64',
    find: 'static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n  uint64_t ms = (ts->tv_sec * 1000) + (ts->tv_nsec / 1000000);\n  return ms;\n}\n',
    replace: (found) => found + HELPER
  },
  {
    what: 'utimens reads both times through the helper',
    find: '  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);\n',
    replace: () => '  l->atime = cairn_utimens_ms(&tv[0]);\n  l->mtime = cairn_utimens_ms(&tv[1]);\n'
  },
  {
    what: 'utimens passes the modification time as the modification time',
    find: '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)\n',
    replace: () => '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n'
  },
  {
    // without the flag libfuse 2.9 calls utimens only when a program sets both times, and
    // drops a change of one (touch -m -d, touch -a) without a word
    what: 'libfuse is told utimens takes UTIME_NOW and UTIME_OMIT',
    find: '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n',
    replace: () => '  if (implemented[op_utimens]) {\n    ops.utimens = fuse_native_utimens;\n    ops.flag_utime_omit_ok = 1;\n  }\n'
  },
  {
    what: 'the patch marker is exported',
    find: '  NAPI_EXPORT_UINT32(op_rmdir)\n}',
    replace: (found) => found.replace(/\}$/, '  NAPI_EXPORT_UINT32(cairn_utimens_patch)\n}')
  }
]

function patchSource (source, sourcePath) {
  let out = source
  for (const edit of EDITS) {
    const at = out.indexOf(edit.find)
    if (at === -1 || out.indexOf(edit.find, at + 1) !== -1) {
      throw new PatchMismatchError(`${sourcePath} does not match the text the utimens patch expects (${edit.what}: ${at === -1 ? 'not found' : 'found more than once'}); has fuse-native been upgraded? Update scripts/build-fuse-binding.mjs`)
    }
    out = out.slice(0, at) + edit.replace(edit.find) + out.slice(at + edit.find.length)
  }
  return out
}

/** Loads the binding in a separate Node and checks the marker; libfuse.so.2 comes from fuse-shared-library when the system lacks it. */
function checkBinding (file, libfuse) {
  const libDir = mkdtempSync(path.join(tmpdir(), 'cairn-libfuse-'))
  try {
    symlinkSync(libfuse, path.join(libDir, 'libfuse.so.2'))
    const env = { ...process.env, LD_LIBRARY_PATH: [process.env.LD_LIBRARY_PATH, libDir].filter(Boolean).join(':') }
    const probe = spawnSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(file)}).cairn_utimens_patch))`], { env, encoding: 'utf8' })
    if (probe.status !== 0) throw new BindingCheckError(`the built binding does not load: ${(probe.stderr ?? '').trim().split('\n').find((l) => /error/i.test(l)) ?? probe.stderr}`)
    if (probe.stdout !== String(PATCH_REVISION)) throw new BindingCheckError(`the built binding exports cairn_utimens_patch=${probe.stdout}, expected ${PATCH_REVISION}`)
  } finally {
    rmSync(libDir, { recursive: true, force: true })
  }
}

function build (options) {
  const require = createRequire(path.join(ROOT, 'package.json'))
  let fuseDir
  try {
    fuseDir = path.dirname(require.resolve('fuse-native/package.json'))
  } catch {
    throw new BuildToolsMissingError('fuse-native is not installed')
  }
  const fuseRequire = createRequire(path.join(fuseDir, 'package.json'))
  const sourcePath = options.source ?? path.join(fuseDir, 'fuse-native.c')
  const out = options.out ?? path.join(fuseDir, 'build', 'Release', 'fuse.node')
  // the patch comes first: a mismatch is this project's to fix, whatever the machine has
  const patched = patchSource(readFileSync(sourcePath, 'utf8'), sourcePath)
  if (process.platform !== 'linux') throw new BuildToolsMissingError(`built on Linux only (this is ${process.platform})`)

  const { include: fuseInclude, lib: libfuse } = fuseRequire('fuse-shared-library')
  const napiMacros = path.dirname(fuseRequire.resolve('napi-macros/napi-macros.h'))
  const nodeInclude = nodeIncludeDir(require)
  const cc = compiler()

  const work = mkdtempSync(path.join(tmpdir(), 'cairn-fuse-build-'))
  try {
    const source = path.join(work, 'fuse-native.c')
    writeFileSync(source, patched)
    // fuse-native.c includes its semaphore.h by a quoted name, found beside the source
    copyFileSync(path.join(fuseDir, 'semaphore.h'), path.join(work, 'semaphore.h'))
    const built = path.join(work, 'fuse.node')
    // the flags node-gyp would pass for fuse-native's binding.gyp
    const args = [
      '-shared', '-fPIC', '-O2', '-Wall',
      '-D_FILE_OFFSET_BITS=64', '-D_LARGEFILE_SOURCE', '-DNODE_GYP_MODULE_NAME=fuse', '-DBUILDING_NODE_EXTENSION',
      `-I${nodeInclude}`, `-I${napiMacros}`, `-I${fuseInclude}`,
      source, libfuse, '-lpthread', '-o', built
    ]
    const result = spawnSync(cc, args, { encoding: 'utf8' })
    if (result.status !== 0) {
      const first = ((result.stderr ?? '').split('\n').find((l) => /error/i.test(l)) ?? result.error?.message ?? `exit ${result.status}`).trim()
      // a missing header (no libc6-dev) is the machine's lack; anything else is the patch's
      if (/fatal error: .*: No such file or directory/.test(first)) throw new BuildToolsMissingError(`${cc} lacks a header: ${first}`)
      throw new BuildFailedError(`${cc} failed on the patched fuse-native.c: ${first}`)
    }
    checkBinding(built, libfuse)
    mkdirSync(path.dirname(out), { recursive: true })
    // copy then rename: a mount starting meanwhile loads the old file or the new one, never half of one
    copyFileSync(built, `${out}.tmp`)
    renameSync(`${out}.tmp`, out)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return out
}

function main () {
  const { values } = parseArgs({ options: { strict: { type: 'boolean' }, source: { type: 'string' }, out: { type: 'string' } } })
  try {
    const out = build(values)
    const shown = path.relative(ROOT, out).startsWith('..') ? out : path.relative(ROOT, out)
    console.log(`cairn: built fuse-native's binding with the utimens fix: ${shown}`)
  } catch (err) {
    if (values.strict === true) {
      console.error(`cairn: ${err.name}: ${err.message}`)
      process.exitCode = 1
    } else if (err instanceof PatchMismatchError || err instanceof BuildFailedError || err instanceof BindingCheckError) {
      console.error(`\n!!! cairn: could not build the patched FUSE binding: ${err.message}\n!!! cairn mount keeps fuse-native's prebuilt binding, which loses the mtimes tar -x, cp -p and touch -m set.\n`)
    } else if (err instanceof BuildToolsMissingError) {
      console.warn(`cairn: warning: the patched FUSE binding was not built (${err.message}); cairn mount uses fuse-native's prebuilt one, which loses the mtimes tar -x and cp -p set (install gcc and libc6-dev, then npm run build:fuse)`)
    } else {
      console.error(`cairn: warning: the patched FUSE binding was not built (${err?.stack ?? err}); cairn mount uses fuse-native's prebuilt one`)
    }
  }
}

main()
