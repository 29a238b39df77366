import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, open, readdir, readlink, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateClusterKey } from '../../core/index.ts'
import { nodeFlagsFor } from '../../cli/launch.js'
import { MAIN, TestCluster, runCairn, until } from '../helpers/cluster.ts'
import { forceUnmount, MountProcess } from '../fuse/mount-process.ts'
import type { RunResult } from '../helpers/cluster.ts'

const exec = promisify(execFile)

let cluster: TestCluster
beforeAll(async () => { cluster = await TestCluster.start({ datanodes: 1 }) })
afterAll(async () => { await cluster?.stop() })

/** Every user-facing failure: a message, a hint, the right exit code, and never a stack trace. */
function expectCleanError (result: RunResult, code: number, message: RegExp): void {
  expect(result.code, result.stderr).toBe(code)
  expect(result.stderr).toMatch(/^cairn: error: /)
  expect(result.stderr).toMatch(message)
  expect(result.stderr).not.toMatch(/\n\s+at /)
}

describe('errors a user can hit', () => {
  it('a local file that does not exist', async () => {
    const result = await cluster.cairn(['put', path.join(cluster.dir, 'no-such-file')])
    expectCleanError(result, 3, /no such file or directory/)
    expect(result.stderr).toContain('hint:')
  })

  it('a malformed CID', async () => {
    expectCleanError(await cluster.cairn(['get', 'not-a-cid']), 2, /"not-a-cid" is not a valid CID/)
    expectCleanError(await cluster.cairn(['cat', '/ipfs/bafy-truncated']), 2, /not a valid CID/)
    expectCleanError(await cluster.cairn(['pin', 'rm', 'Qm123']), 2, /not a valid CID/)
  })

  it('a CID this cluster never stored', async () => {
    const result = await cluster.cairn(['cat', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'])
    expectCleanError(result, 3, /is not stored in this cluster/)
  })

  it('a path that does not exist inside a directory, and a path through a file', async () => {
    const dir = path.join(cluster.dir, 'd')
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir)
    await writeFile(path.join(dir, 'f'), 'x')
    await mkdir(path.join(dir, 'sub'))
    await symlink('f', path.join(dir, 'link'))
    const root = (await cluster.cairn(['put', dir])).stdout.toString().trim()
    expectCleanError(await cluster.cairn(['cat', `${root}/missing`]), 3, /missing/)
    expectCleanError(await cluster.cairn(['cat', root]), 2, /is a directory/)
    // the path as given, not the CID it resolved to
    expectCleanError(await cluster.cairn(['cat', `${root}/sub`]), 2, new RegExp(`${root}/sub is a directory`))
    expectCleanError(await cluster.cairn(['cat', `/ipfs/${root}/link`]), 2, new RegExp(`${root}/link is a symlink to f`))
    expect((await cluster.cairn(['ls', `${root}/f/deeper`])).code).not.toBe(0)
  })

  it('a namenode that is not running: a clear error within seconds, not a hang', async () => {
    // a port with nothing behind it
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const p = (server.address() as { port: number }).port
        server.close(() => { resolve(p) })
      })
    })
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-nonn-'))
    try {
      await writeFile(path.join(dir, 'cluster.key'), generateClusterKey())
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({
        version: 1, namenode: { address: `/ip4/127.0.0.1/tcp/${port}/p2p/12D3KooWDQQAChQBMjK1Dm9QDFDXgGjLTUnDeiiZub51Y8DdAMJx` }
      }))
      const result = await runCairn(['--config', path.join(dir, 'config.json'), 'report'], { timeoutMs: 20_000 })
      expectCleanError(result, 4, /cannot reach the namenode/)
      expect(result.stderr).toContain('cairn up')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('no cluster configuration anywhere', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-nocfg-'))
    try {
      const result = await runCairn(['pin', 'ls'], { cwd: dir, env: { HOME: dir, CAIRN_CONFIG: '' } })
      expectCleanError(result, 2, /no Cairn cluster configuration found/)
      expect(result.stderr).toContain('cairn up')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a configuration file with mistakes names each one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-badcfg-'))
    try {
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ version: 1, client: { replication: 0, colour: 'red' } }))
      const result = await runCairn(['--config', path.join(dir, 'config.json'), 'report'])
      expectCleanError(result, 2, /client\.replication|replication/)
      expect(result.stderr).toContain('colour')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('mount points that cannot be used', async () => {
    expectCleanError(await cluster.cairn(['mount', path.join(cluster.dir, 'no-such-dir')]), 2, /no-such-dir does not exist[\s\S]*mkdir -p/)
    const file = path.join(cluster.dir, 'a-file')
    await writeFile(file, 'x')
    expectCleanError(await cluster.cairn(['mount', file]), 2, /is not a directory/)
    const full = path.join(cluster.dir, 'full-dir')
    await mkdir(full, { recursive: true })
    await writeFile(path.join(full, 'already-here'), 'x')
    expectCleanError(await cluster.cairn(['mount', full]), 2, /full-dir is not empty[\s\S]*empty directory/)
    expectCleanError(await cluster.cairn(['unmount', cluster.dir]), 2, /is not mounted/)
  })

  it('a data directory or cluster key that cannot be created (under /proc, where Node\'s own mkdir -p spins forever)', async () => {
    expectCleanError(await runCairn(['up', '--data', '/proc/cairn-no-such/data', '--no-gateway'], { timeoutMs: 20_000 }), 3,
      /cannot create the data directory \/proc\/cairn-no-such\/data for this cairn up[\s\S]*--data/)
    expectCleanError(await runCairn(['namenode', '--data', '/proc/cairn-no-such'], { timeoutMs: 20_000 }), 3,
      /cannot create the cluster key \/proc\/cluster.key[\s\S]*--cluster-key/)
    expectCleanError(await runCairn(['datanode', '--data', '/proc/cairn-no-such', '--cluster-key', cluster.keyFile, '--namenode', cluster.namenodeAddress], { timeoutMs: 20_000 }), 3,
      /cannot create the data directory \/proc\/cairn-no-such for this datanode/)
  })

  it('a machine without FUSE: mount and unmount say what to install', async () => {
    const dir = path.join(cluster.dir, 'no-fuse')
    await mkdir(dir, { recursive: true })
    // libfuse.so.2 hidden in a mount namespace of the command's own (where it is installed at all)
    const lib = (await exec('ldconfig', ['-p'])).stdout.match(/libfuse\.so\.2 \(.*\) => (\S+)/)?.[1]
    const hide = lib === undefined ? '' : `mount --bind /dev/null ${await realpath(lib)} && `
    const args = [...nodeFlagsFor(['mount']), MAIN, '--config', cluster.configFile, 'mount', dir]
    const noLib = await exec('unshare', ['-m', 'sh', '-c', `${hide}exec "$@"`, 'sh', process.execPath, ...args]).then(
      () => ({ code: 0, stderr: '' }), (err: { code: number, stderr: string }) => ({ code: err.code, stderr: err.stderr }))
    expectCleanError({ ...noLib, stdout: Buffer.alloc(0) }, 2, /FUSE is not available on this machine[\s\S]*apt-get install -y fuse libfuse2/)

    // fusermount missing: a mount left by a killed process cannot be detached, and cairn unmount says why
    const stale = await MountProcess.start(cluster, dir)
    try {
      await stale.kill9()
      expectCleanError(await cluster.cairn(['unmount', dir], { env: { PATH: '/nonexistent' } }), 2, /fusermount is not installed[\s\S]*apt-get install -y fuse libfuse2/)
      const unmount = await cluster.cairn(['unmount', dir])
      expect(unmount.code, unmount.stderr).toBe(0)
      expect((await readdir(dir))).toEqual([])
    } finally {
      await forceUnmount(dir)
    }
  })

  it('usage mistakes: unknown command, bad option values', async () => {
    const unknown = await runCairn(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command 'frobnicate'")
    const bad = await cluster.cairn(['put', '-r', 'lots', 'x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('replication must be a whole number')
    const profile = await cluster.cairn(['put', '--profile', 'fast', 'x'])
    expect(profile.code).toBe(2)
    expect(profile.stderr).toContain('unknown profile')
  })

  it('cat into a closed pipe stops quietly', async () => {
    const root = (await cluster.cairn(['put', '-'], { input: Buffer.alloc(4 * 1024 * 1024, 1) })).stdout.toString().trim()
    const child = spawn('sh', ['-c', `"${process.execPath}" "${MAIN}" --config "${cluster.configFile}" cat ${root} | head -c 10 > /dev/null; echo "\${PIPESTATUS:-done}"`])
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    await new Promise((resolve) => child.on('close', resolve))
    expect(stderr).not.toMatch(/\n\s+at /)
    expect(stderr).not.toContain('EPIPE')
  })

  it('cat and get -o - into a full disk fail with a clear error, never exit 0 with part of the bytes', async () => {
    const bytes = Buffer.alloc(4 * 1024 * 1024, 7)
    const root = (await cluster.cairn(['put', '-q', '-'], { input: bytes })).stdout.toString().trim()
    // /dev/full answers every write with ENOSPC, as a full disk behind `> file` does
    const full = await open('/dev/full', 'w')
    try {
      for (const args of [['cat', root], ['get', root, '-o', '-']]) {
        const child = spawn(process.execPath, [...nodeFlagsFor(args), MAIN, '--config', cluster.configFile, ...args], { stdio: ['ignore', full.fd, 'pipe'] })
        let stderr = ''
        child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
        expectCleanError({ code, stderr, stdout: Buffer.alloc(0) }, 3, /standard output: no space left on device/)
      }
    } finally {
      await full.close()
    }
    // to a pipe, get -o - writes the file's bytes, as cat does (never a file named "-")
    const got = await cluster.cairn(['get', root, '-o', '-'], { cwd: cluster.dir })
    expect(got.code, got.stderr).toBe(0)
    expect(got.stdout.equals(bytes)).toBe(true)
    expect(await readdir(cluster.dir)).not.toContain('-')
  })

  it('get -o - refuses what is not a file, and --json beside it', async () => {
    const tree = path.join(cluster.dir, 'tree-for-stdout')
    await mkdir(tree, { recursive: true })
    await writeFile(path.join(tree, 'a.txt'), 'a')
    const root = (await cluster.cairn(['put', '-q', tree])).stdout.toString().trim()
    expectCleanError(await cluster.cairn(['get', root, '-o', '-']), 2, /is a directory: only a file can be written to standard output[\s\S]*cairn export/)
    expectCleanError(await cluster.cairn(['get', `${root}/a.txt`, '-o', '-', '--json']), 2, /--json and -o - both write to standard output/)
  })

  it('Ctrl-C during a get: exit 130, "interrupted", and neither the file nor its temporary copy is left', async () => {
    const bytes = Buffer.alloc(256 * 1024 * 1024)
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i)
    const root = (await cluster.cairn(['put', '-q', '-'], { input: bytes, timeoutMs: 120_000 })).stdout.toString().trim()
    const out = await mkdtemp(path.join(cluster.dir, 'interrupted-get-'))
    const args = ['--config', cluster.configFile, 'get', root, '-o', path.join(out, 'big.bin')]
    const child = spawn(process.execPath, [...nodeFlagsFor(args), MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { resolve(code) }))
    // mid-transfer: its temporary copy has bytes
    await until('the get to start writing', async () => {
      for (const name of await readdir(out)) if (((await stat(path.join(out, name)).catch(() => undefined))?.size ?? 0) > 0) return true
      return false
    })
    child.kill('SIGINT')
    const code = await exited
    expect(code, stderr).toBe(130)
    expect(stderr).toMatch(/^cairn: error: interrupted$/m)
    expect(stderr).not.toContain('bug')
    expect(await readdir(out)).toEqual([])
  }, 180_000)

  it('Ctrl-C ends a put waiting on a pipe with nothing in it yet: exit 130, "interrupted", no bug report', async () => {
    const child = spawn(process.execPath, [MAIN, '--config', cluster.configFile, 'put', '-'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { resolve(code) }))
    child.stdin.write('some bytes, and then nothing more for a while')
    // the CLI takes Ctrl-C over before it connects: once it has a socket, SIGINT is the CLI's to answer
    const fds = `/proc/${child.pid as number}/fd`
    await until('the put to connect', async () => {
      // (0-2 are sockets too: the test's stdio pipes)
      for (const fd of await readdir(fds).catch(() => [] as string[])) {
        if (Number(fd) > 2 && (await readlink(`${fds}/${fd}`).catch(() => '')).startsWith('socket:')) return true
      }
      return false
    })
    child.kill('SIGINT')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 20_000)
    const code = await exited
    clearTimeout(timer)
    child.stdin.destroy()
    expect(code, stderr).toBe(130)
    expect(stderr).toContain('interrupted')
    expect(stderr).not.toContain('bug')
  })
})
