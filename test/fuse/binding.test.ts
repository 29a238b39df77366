import { createRequire } from 'node:module'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UTIME_OMIT_MS, fuseBindingInfo, utimensMtime } from '../../fuse/binding.ts'
import { exec } from './mount-process.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const SCRIPT = path.join(REPO, 'scripts', 'build-fuse-binding.mjs')
const SOURCE = path.join(REPO, 'node_modules', 'fuse-native', 'fuse-native.c')

let work: string

beforeAll(async () => { work = await mkdtemp(path.join(tmpdir(), 'cairn-binding-')) })
afterAll(async () => { if (work !== undefined) await rm(work, { recursive: true, force: true }) })

/** Runs the build script; never rejects, so a failure's output can be looked at. */
async function build (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [SCRIPT, ...args], { cwd: REPO })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('the FUSE binding', () => {
  it('fuse-native runs on the binding the install built, with the utimens fix (a silent fallback to the prebuilt one fails here)', () => {
    const info = fuseBindingInfo()
    expect(info.path).toBe(path.join(REPO, 'node_modules', 'fuse-native', 'build', 'Release', 'fuse.node'))
    expect(info.patchedUtimens).toBe(true)
  })

  it('the build script compiles a binding that exports the patch marker', async () => {
    const out = path.join(work, 'fuse.node')
    const result = await build(['--strict', '--out', out])
    expect(result.code, result.stderr).toBe(0)
    const native = createRequire(import.meta.url)(out) as { cairn_utimens_patch?: number, op_utimens?: number }
    expect(native.cairn_utimens_patch).toBe(1)
    expect(native.op_utimens).toBeTypeOf('number')
  })

  it('says so loudly when fuse-native.c no longer matches the patch, and fails with --strict', async () => {
    // as if an upgrade had fixed the argument upstream: the patch must be looked at again
    const changed = (await readFile(SOURCE, 'utf8')).replace('FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)', 'FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)')
    const source = path.join(work, 'changed.c')
    await writeFile(source, changed)
    const out = path.join(work, 'never.node')
    const strict = await build(['--strict', '--source', source, '--out', out])
    expect(strict.code).toBe(1)
    expect(strict.stderr).toMatch(/PatchMismatchError: .*changed\.c does not match/)
    // postinstall never fails an install, but does not keep quiet either
    const lenient = await build(['--source', source, '--out', out])
    expect(lenient.code).toBe(0)
    expect(lenient.stderr).toMatch(/!!! cairn: could not build the patched FUSE binding/)
  })

  it('without a C compiler, postinstall warns in one line and succeeds', async () => {
    const result = await (async () => {
      try {
        return { code: 0, ...(await exec(process.execPath, [SCRIPT, '--out', path.join(work, 'none.node')], { cwd: REPO, env: { ...process.env, PATH: '/nonexistent', CC: '' } })) }
      } catch (err) {
        return err as { code: number, stdout: string, stderr: string }
      }
    })()
    expect(result.code).toBe(0)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/warning: the patched FUSE binding was not built \(no C compiler/)
  })

  it('reads utimens times: the patched binding as given (OMIT leaves the mtime), the prebuilt one a real time or now', () => {
    expect(utimensMtime(981_173_106_000, true)).toBe(981_173_106_000)
    expect(utimensMtime(UTIME_OMIT_MS, true)).toBeUndefined()
    // the epoch itself is a time the patched binding can pass
    expect(utimensMtime(0, true)).toBe(0)
    expect(utimensMtime(981_173_106_000, false)).toBe(981_173_106_000)
    const before = Date.now()
    // UTIME_NOW and UTIME_OMIT as the prebuilt binding passes them: tv_nsec / 1e6
    const now = utimensMtime(1_073, false) as number
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
  })
})
