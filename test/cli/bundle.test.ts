import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleIsFresh, MANIFEST_VERSION, SERVICE_NODE_FLAGS } from '../../cli/launch.js'
import { packageRoot, VERSION } from '../../core/index.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BUILD = path.join(ROOT, 'scripts', 'build-bundle.mjs')

// inside the package, as dist/ is: the bundle finds fuse-native and the native addons from there
const out = path.join(ROOT, 'test', 'artifacts', `bundle-${process.pid}`)
const bundle = path.join(out, 'cairn.js')
const dirs: string[] = [out]

interface Manifest {
  version: number
  modules: number
  inputs: Array<{ file: string, size: number, mtimeMs: number }>
}

async function manifestIn (dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest
}

/** A copy of the built manifest with `change` applied, in a directory of its own. */
async function alteredManifest (change: (m: Manifest) => unknown): Promise<string> {
  const manifest = await manifestIn(out)
  change(manifest)
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-manifest-'))
  dirs.push(dir)
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest))
  return dir
}

beforeAll(async () => {
  const { stdout } = await run(process.execPath, [BUILD, '--strict', '--out', out], { cwd: ROOT })
  expect(stdout).toMatch(/^cairn: bundled \d+ modules into /)
}, 120_000)

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('the bundle (scripts/build-bundle.mjs, cli/launch.js)', () => {
  it('records the files it was built from, and is fresh only while every one is as recorded', async () => {
    const manifest = await manifestIn(out)
    expect(manifest.version).toBe(MANIFEST_VERSION)
    expect(manifest.modules).toBeGreaterThan(100)
    const files = manifest.inputs.map((i) => i.file)
    for (const own of ['cli/main.ts', 'cli/program.ts', 'core/client/put.ts', 'datanode/datanode.ts', 'namenode/index.ts', 'fuse/index.ts', 'package.json', 'package-lock.json']) {
      expect(files).toContain(own)
    }
    expect(files.some((f) => f.includes('node_modules/') && f !== 'node_modules/.package-lock.json')).toBe(false)
    expect(bundleIsFresh(out, ROOT)).toBe(true)

    // an edit (new time or size), a file gone, another format, an empty or missing manifest: the sources run
    expect(bundleIsFresh(await alteredManifest((m) => { m.inputs[0]!.mtimeMs += 1 }), ROOT)).toBe(false)
    expect(bundleIsFresh(await alteredManifest((m) => { m.inputs.at(-1)!.size += 1 }), ROOT)).toBe(false)
    expect(bundleIsFresh(await alteredManifest((m) => { m.inputs.push({ file: 'core/gone.ts', size: 1, mtimeMs: 1 }) }), ROOT)).toBe(false)
    expect(bundleIsFresh(await alteredManifest((m) => { m.version = MANIFEST_VERSION + 1 }), ROOT)).toBe(false)
    expect(bundleIsFresh(await alteredManifest((m) => { m.inputs = [] }), ROOT)).toBe(false)
    expect(bundleIsFresh(path.join(out, 'no-such-dir'), ROOT)).toBe(false)
    // and the same manifest, unaltered, still vouches (the checks above are not always false)
    expect(bundleIsFresh(await alteredManifest(() => {}), ROOT)).toBe(true)
  })

  it('finds the package (and with it the native addons) from the bundle as from the sources', () => {
    expect(packageRoot(pathToFileURL(bundle).href)).toBe(ROOT.replace(/\/$/, ''))
    expect(packageRoot(pathToFileURL(path.join(ROOT, 'core', 'util', 'malloc.ts')).href)).toBe(ROOT.replace(/\/$/, ''))
    expect(packageRoot(pathToFileURL(path.join(tmpdir(), 'elsewhere.js')).href)).toBeUndefined()
  })

  it('answers --version, and bad input with a clear error and no stack trace', async () => {
    const { stdout } = await run(process.execPath, [bundle, '--version'])
    expect(stdout.trim()).toBe(VERSION)
    const bad = await run(process.execPath, [bundle, 'cat', 'not-a-cid'], { env: { ...process.env, CAIRN_CONFIG: '', HOME: tmpdir() } })
      .then(() => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => err)
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/^cairn: error: /)
    expect(bad.stderr).not.toMatch(/\n\s+at /)
  })

  it('cairn up from the bundle runs its services from the bundle, and put, get and report work through it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-bundle-up-'))
    dirs.push(dir)
    const up = spawn(process.execPath, [...SERVICE_NODE_FLAGS, bundle, 'up', '--datanodes', '1', '--no-gateway', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => up.on('exit', (code) => { resolve(code) }))
    try {
      let banner = ''
      let err = ''
      up.stderr.on('data', (d: Buffer) => { err += d.toString() })
      await new Promise<void>((resolve, reject) => {
        up.stdout.on('data', (d: Buffer) => { banner += d.toString(); if (banner.includes('Press Ctrl-C')) resolve() })
        void exited.then((code) => { reject(new Error(`cairn up exited (${code ?? '?'}): ${err}`)) })
      })
      const services: string[][] = []
      for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue
        const args: string[] = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((s) => s.split('\0'), () => [])
        if (args.some((a) => a.startsWith(dir)) && (args.includes('namenode') || args.includes('datanode'))) services.push(args)
      }
      expect(services).toHaveLength(2)
      for (const args of services) expect(args).toContain(bundle)

      const file = path.join(dir, 'data.bin')
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7)
      await writeFile(file, bytes)
      const put = await run(process.execPath, [bundle, 'put', '-q', file], { cwd: dir })
      const root = put.stdout.trim()
      await mkdir(path.join(dir, 'out'))
      await run(process.execPath, [bundle, 'get', root, '-o', path.join(dir, 'out', 'copy.bin')], { cwd: dir })
      expect(Buffer.compare(await readFile(path.join(dir, 'out', 'copy.bin')), bytes)).toBe(0)
      const report = JSON.parse((await run(process.execPath, [bundle, 'report', '--json'], { cwd: dir })).stdout) as { datanodes: unknown[] }
      expect(report.datanodes).toHaveLength(1)
    } finally {
      up.kill('SIGINT')
      expect(await exited).toBe(0)
    }
  }, 120_000)
})
