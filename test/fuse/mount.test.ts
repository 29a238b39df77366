import { randomBytes } from 'node:crypto'
import { readdir, readFile, readlink, rename, rm, mkdir, rmdir, writeFile, symlink, stat, open, lstat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { Keystore, readFile as readContent, resolveEntry } from '../../core/index.ts'
import { until } from '../helpers/cluster.ts'
import type { TestCluster } from '../helpers/cluster.ts'
import { runFsx } from './fsx.ts'
import { forceUnmount, mountSuite, sh } from './mount-process.ts'
import type { MountProcess } from './mount-process.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))

const suite = mountSuite('cairn-fuse-')
let cluster: TestCluster
let work: string
let mnt: string
let drive: MountProcess

const mountAt = suite.mountAt.bind(suite)

beforeAll(async () => {
  cluster = suite.cluster
  work = suite.work
  mnt = path.join(work, 'mnt')
  drive = await mountAt(mnt, ['--ipfs'])
})

async function errnoOf (p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    return (err as NodeJS.ErrnoException).code
  }
}

describe('cairn mount', () => {
  it('copies a tree in and out unchanged (diff -r)', async () => {
    await sh(`cp -r ${REPO}/core ${mnt}/core && diff -r ${REPO}/core ${mnt}/core`, work)
    await sh(`cp -r ${mnt}/core ${work}/core-out && diff -r ${REPO}/core ${work}/core-out`, work)
    // every directory lists itself and its parent first, as on a local disk (ls -a)
    const tree = (await cluster.cairn(['put', '-q', path.join(REPO, 'core', 'car')])).stdout.toString().trim()
    const dirs = [mnt, `${mnt}/core`, `${mnt}/ipns`, `${mnt}/ipfs/${tree}`]
    const heads = await sh(dirs.map((d) => `ls -a1 ${d} | head -2 | paste -sd' '`).join(' && '), work)
    expect(heads.stdout.trim().split('\n')).toEqual(dirs.map(() => '. ..'))
    expect((await readdir(`${mnt}/ipfs/${tree}`)).sort()).toEqual((await readdir(path.join(REPO, 'core', 'car'))).sort())
  }, 300_000)

  it('extracts a real tarball (a dependency, packed) and matches the original', async () => {
    await sh(`tar -C ${REPO}/node_modules -cf ${work}/mf.tar multiformats`, work)
    await sh(`mkdir ${mnt}/tar && tar -C ${mnt}/tar -xf ${work}/mf.tar && diff -r ${REPO}/node_modules/multiformats ${mnt}/tar/multiformats`, work, 540_000)
    // modes and mtimes kept as tar set them (times.test.ts covers times in detail)
    const original = await stat(`${REPO}/node_modules/multiformats/package.json`)
    const copy = await stat(`${mnt}/tar/multiformats/package.json`)
    expect(copy.mode & 0o777).toBe(original.mode & 0o777)
    expect(copy.mtimeMs).toBe(Math.floor(original.mtimeMs / 1000) * 1000)
    await sh(`touch -d '2020-02-03 04:05:06Z' ${mnt}/tar/multiformats/package.json && python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" ${mnt}`, work)
    expect((await stat(`${mnt}/tar/multiformats/package.json`)).mtimeMs).toBe(Date.parse('2020-02-03T04:05:06Z'))
    const ls = await cluster.cairn(['stat', '/ipns/self/tar/multiformats/package.json', '--json'])
    expect(ls.stdout.toString()).toContain('2020-02-03')
  }, 600_000)

  it('runs git init, add, commit and log inside the mount', async () => {
    const git = 'git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main'
    await sh(`mkdir ${mnt}/repo && cd ${mnt}/repo && ${git} init -q && echo one > a.txt && mkdir sub && echo two > sub/b.txt && ${git} add . && ${git} commit -qm first && echo three >> a.txt && ${git} commit -qam second`, work, 300_000)
    const log = await sh(`cd ${mnt}/repo && git log --oneline && git status --porcelain && git fsck --no-progress`, work)
    expect(log.stdout).toMatch(/second[\s\S]*first/)
  }, 300_000)

  it('renames over an existing file and across directories; rmdir of a non-empty directory is ENOTEMPTY', async () => {
    await mkdir(`${mnt}/r/x`, { recursive: true })
    await writeFile(`${mnt}/r/old.txt`, 'old')
    await writeFile(`${mnt}/r/new.txt`, 'new')
    await rename(`${mnt}/r/new.txt`, `${mnt}/r/old.txt`)
    expect(await readFile(`${mnt}/r/old.txt`, 'utf8')).toBe('new')
    await rename(`${mnt}/r/old.txt`, `${mnt}/r/x/moved.txt`)
    expect(await readFile(`${mnt}/r/x/moved.txt`, 'utf8')).toBe('new')
    expect(await errnoOf(stat(`${mnt}/r/old.txt`))).toBe('ENOENT')
    expect(await errnoOf(rmdir(`${mnt}/r`))).toBe('ENOTEMPTY')
    expect(await errnoOf(mkdir(`${mnt}/r/x`))).toBe('EEXIST')
    expect(await errnoOf(readFile(`${mnt}/r`))).toBe('EISDIR')
    expect(await errnoOf(writeFile(`${mnt}/r/x/moved.txt/no`, 'x'))).toBe('ENOTDIR')
    await rm(`${mnt}/r/x/moved.txt`)
    await rmdir(`${mnt}/r/x`)
    expect(await errnoOf(stat(`${mnt}/r/x`))).toBe('ENOENT')
  })

  it('keeps symlinks as UnixFS symlinks, and chmod', async () => {
    await writeFile(`${mnt}/target.txt`, 'pointed at')
    await symlink('target.txt', `${mnt}/link`)
    expect(await readlink(`${mnt}/link`)).toBe('target.txt')
    expect(await readFile(`${mnt}/link`, 'utf8')).toBe('pointed at')
    expect((await lstat(`${mnt}/link`)).isSymbolicLink()).toBe(true)
    await sh(`chmod 750 ${mnt}/target.txt`, work)
    expect((await stat(`${mnt}/target.txt`)).mode & 0o777).toBe(0o750)
    await sh(`python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" ${mnt}`, work)
    const ls = await cluster.cairn(['ls', '/ipns/self'])
    expect(ls.stdout.toString()).toMatch(/link -> target\.txt|link/)
  })

  it('refuses writes under ipfs/ with EROFS, and reads any CID there', async () => {
    const bytes = randomBytes(300_000)
    const put = await cluster.cairn(['put', '-', '-q'], { input: bytes })
    const cid = put.stdout.toString().trim()
    expect((await readFile(`${mnt}/ipfs/${cid}`)).equals(bytes)).toBe(true)
    expect(await errnoOf(writeFile(`${mnt}/ipfs/${cid}`, 'x'))).toBe('EROFS')
    expect(await errnoOf(writeFile(`${mnt}/ipfs/new`, 'x'))).toBe('EROFS')
    expect(await errnoOf(mkdir(`${mnt}/ipfs/d`))).toBe('EROFS')
  })

  it('mknod makes a regular file; a FIFO or device is EPERM, as UnixFS cannot store one', async () => {
    await sh(`python3 -c "import os,sys; os.mknod(sys.argv[1])" ${mnt}/made-by-mknod`, work)
    expect((await stat(`${mnt}/made-by-mknod`)).isFile()).toBe(true)
    const fifo = await sh(`mkfifo ${mnt}/fifo 2>&1 || true`, work)
    expect(fifo.stdout).toContain('Operation not permitted')
    expect(await errnoOf(stat(`${mnt}/fifo`))).toBe('ENOENT')
    // stored and published like any created file
    const listed = await cluster.cairn(['ls', '/ipns/self'])
    expect(listed.stdout.toString()).toMatch(/\s0\s+made-by-mknod\n/)
  })

  it('ipns/<name>/ is writable for every name whose key is held (made after mounting too), read-only for others; rename across names is EXDEV', async () => {
    const text = async (args: string[]): Promise<string> => {
      const r = await cluster.cairn(args)
      expect(r.code, r.stderr.toString()).toBe(0)
      return r.stdout.toString().trim()
    }
    const self = await text(['key', 'ls', '--json']).then((out) => (JSON.parse(out) as Array<{ key: string, name: string }>).find((k) => k.key === 'self')?.name as string)
    // a name someone else holds: published, then its key leaves this client
    const foreign = await text(['key', 'gen', 'foreign'])
    const content = await text(['put', '-q', path.join(REPO, 'package.json')])
    await text(['name', 'publish', '--key', 'foreign', content])
    await text(['key', 'rm', 'foreign'])
    const notes = await text(['key', 'gen', 'notes'])

    await until('the mount lists the held names under ipns/', async () => {
      const names = await readdir(`${mnt}/ipns`)
      return names.includes(self) && names.includes(notes) && !names.includes(foreign)
    })
    await mkdir(`${mnt}/ipns/${notes}/drafts`)
    const bytes = randomBytes(700_000)
    await writeFile(`${mnt}/ipns/${notes}/drafts/one.bin`, bytes)
    expect((await readFile(`${mnt}/ipns/${notes}/drafts/one.bin`)).equals(bytes)).toBe(true)
    const got = await cluster.cairn(['cat', `/ipns/${notes}/drafts/one.bin`])
    expect(got.code, got.stderr.toString()).toBe(0)
    expect(got.stdout.equals(bytes)).toBe(true)

    // the mounted name under ipns/ is the same drive as the root
    await writeFile(`${mnt}/ipns/${self}/via-ipns.txt`, 'same drive')
    expect(await readFile(`${mnt}/via-ipns.txt`, 'utf8')).toBe('same drive')
    await rename(`${mnt}/via-ipns.txt`, `${mnt}/ipns/${self}/renamed.txt`)
    expect(await readFile(`${mnt}/renamed.txt`, 'utf8')).toBe('same drive')

    // two names are two filesystems: rename says EXDEV, and mv copies instead
    expect(await errnoOf(rename(`${mnt}/renamed.txt`, `${mnt}/ipns/${notes}/renamed.txt`))).toBe('EXDEV')
    await sh(`mv ${mnt}/renamed.txt ${mnt}/ipns/${notes}/moved.txt`, work)
    expect(await readFile(`${mnt}/ipns/${notes}/moved.txt`, 'utf8')).toBe('same drive')
    expect(await errnoOf(stat(`${mnt}/renamed.txt`))).toBe('ENOENT')

    // a name whose key is not held reads, and refuses writes
    expect(await readFile(`${mnt}/ipns/${foreign}`, 'utf8')).toBe(await readFile(path.join(REPO, 'package.json'), 'utf8'))
    expect(await errnoOf(writeFile(`${mnt}/ipns/${foreign}`, 'x'))).toBe('EROFS')
    expect(await errnoOf(mkdir(`${mnt}/ipns/${foreign}-not-a-name`))).toBe('EROFS')

    // what was written under ipns/ survives an unmount and a fresh mount
    const again = await mountAt(path.join(work, 'names-again'), ['--ipfs'])
    expect((await readFile(path.join(again.dir, 'ipns', notes, 'drafts', 'one.bin'))).equals(bytes)).toBe(true)
    expect(await again.stop()).toBe(0)
  })

  it('after close, cairn get /ipns/<name>/path has the bytes, and a second mount sees them', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    await writeFile(`${mnt}/shared.bin`, bytes)
    const got = await cluster.cairn(['cat', '/ipns/self/shared.bin'])
    expect(got.code, got.stderr).toBe(0)
    expect(got.stdout.equals(bytes)).toBe(true)
    const cid = (await sh(`python3 -c "import os,sys; print(os.getxattr(sys.argv[1], 'user.cairn.cid').decode())" ${mnt}/shared.bin`, work)).stdout.trim()
    expect(cid).toMatch(/^bafy/)

    const second = await mountAt(path.join(work, 'second'))
    expect((await readFile(path.join(work, 'second', 'shared.bin'))).equals(bytes)).toBe(true)
    // close-to-open the other way: a change made in the second mount shows in the first after the attribute timeout
    await writeFile(path.join(work, 'second', 'from-second.txt'), 'hello from the second mount')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await readFile(`${mnt}/from-second.txt`, 'utf8')).toBe('hello from the second mount')
    expect(await second.stop()).toBe(0)
  })

  it('survives an fsx-style randomized exerciser against a model file', async () => {
    const seed = Number(process.env.FSX_SEED ?? 20261124)
    const result = await runFsx({
      file: `${mnt}/fsx.bin`,
      model: path.join(work, 'fsx-model.bin'),
      seed,
      ops: Number(process.env.FSX_OPS ?? 3000),
      maxSize: 2 * 1024 * 1024,
      maxLength: 96 * 1024,
      reopenEvery: 0
    })
    expect(result.reads).toBeGreaterThan(1000)
    // what was closed is what the cluster has
    const got = await cluster.cairn(['cat', '/ipns/self/fsx.bin'])
    expect(got.stdout.equals(await readFile(path.join(work, 'fsx-model.bin')))).toBe(true)
  }, 600_000)

  it('after kill -9 mid-write, fsynced data is intact and nothing half-written is published', async () => {
    const dir = path.join(work, 'killed')
    const victim = await mountAt(dir)
    const durable = randomBytes(2 * 1024 * 1024)
    const fh = await open(`${dir}/durable.bin`, 'w')
    await fh.write(durable)
    await fh.sync()
    // a second file is half-written and never closed
    const half = await open(`${dir}/half.bin`, 'w')
    await half.write(randomBytes(1024 * 1024))
    // more bytes into the fsynced file, after its fsync
    await fh.write(randomBytes(4096))
    await victim.kill9()
    await fh.close().catch(() => {})
    await half.close().catch(() => {})
    expect(await errnoOf(stat(dir))).toBe('ENOTCONN')

    // the next mount cleans up the dead one and shows exactly what was fsynced
    const again = await mountAt(dir)
    expect((await readFile(`${dir}/durable.bin`)).equals(durable)).toBe(true)
    expect(await errnoOf(stat(`${dir}/half.bin`))).toBe('ENOENT')
    expect(await again.stop()).toBe(0)
    expect(again.log).not.toMatch(/could not be stored|dropped/)
  })

  it('--writeback: what closes acknowledged survives kill -9 of the mount; the next mount publishes it from the journal', async () => {
    const name = (await cluster.cairn(['key', 'gen', 'wb-crash'])).stdout.toString().trim()
    const dir = path.join(work, 'wb-crash')
    const victim = await mountAt(dir, ['--name', 'wb-crash', '--writeback'])
    const files = Array.from({ length: 60 }, (_, i) => ({ name: `notes/n-${i}.txt`, bytes: randomBytes(50 + i * 31) }))
    files.push({ name: 'big.bin', bytes: randomBytes(16 * 1024 * 1024 + 3) })
    await mkdir(`${dir}/notes`)
    for (const f of files) await writeFile(`${dir}/${f.name}`, f.bytes)
    // an editor's save, and a removal after a close
    await writeFile(`${dir}/doc.txt`, 'draft')
    await writeFile(`${dir}/.doc.txt.swp`, 'saved')
    await rename(`${dir}/.doc.txt.swp`, `${dir}/doc.txt`)
    await writeFile(`${dir}/scratch.txt`, 'gone')
    await rm(`${dir}/scratch.txt`)
    // every close above returned: the mount dies before its background stores and publishes are done
    await victim.kill9()
    await forceUnmount(dir)

    const after = await mountAt(dir, ['--name', 'wb-crash'])
    expect(after.log).toMatch(/published \d+ change\(s\) to \/ipns\/\S+ that the mount in process \d+ had acknowledged/)
    for (const f of files) expect((await readFile(`${dir}/${f.name}`)).equals(f.bytes), f.name).toBe(true)
    expect(await readFile(`${dir}/doc.txt`, 'utf8')).toBe('saved')
    expect((await readdir(dir)).sort()).toEqual(['big.bin', 'doc.txt', 'notes'])
    expect(await after.stop()).toBe(0)
    const got = await cluster.cairn(['cat', `/ipns/${name}/big.bin`])
    expect(got.stdout.equals(files.at(-1)?.bytes as Buffer)).toBe(true)
  })

  it('--writeback: a file changed again before its background store read it is published as it was closed, never half-rewritten', async () => {
    const name = (await cluster.cairn(['key', 'gen', 'wb-rewrite'])).stdout.toString().trim()
    const dir = path.join(work, 'wb-rewrite')
    const wb = await mountAt(dir, ['--name', 'wb-rewrite', '--writeback'])
    const closed = randomBytes(8 * 1024 * 1024)
    await writeFile(`${dir}/f.bin`, closed)
    // at once, before the store behind the close has read the spool: rewrite its end and keep it open
    const again = await open(`${dir}/f.bin`, 'r+')
    await again.write(Buffer.alloc(4096, 0x58), 0, 4096, closed.byteLength - 4096)
    // watched from this process: a child process would inherit the open file, and its exit is a close (a flush)
    const client = await cluster.client()
    let published: Buffer | undefined
    try {
      await until('the closed version is published', async () => {
        try {
          const entry = await resolveEntry(client.context, await client.resolve(`/ipns/${name}/f.bin`))
          const chunks: Uint8Array[] = []
          for await (const chunk of readContent(entry.cid, client.reader)) chunks.push(chunk)
          published = Buffer.concat(chunks)
          return true
        } catch {
          return false
        }
      })
    } finally {
      await client.close()
    }
    expect(published?.equals(closed)).toBe(true)
    await again.close()
    expect(await wb.stop()).toBe(0)
    const final = await cluster.cairn(['cat', `/ipns/${name}/f.bin`])
    expect(final.stdout.subarray(-4096).equals(Buffer.alloc(4096, 0x58))).toBe(true)
  })

  it('--writeback: close returns at once, reads see the writes, order is kept, fsync and unmount wait for the cluster', async () => {
    expect((await cluster.cairn(['key', 'gen', 'wb'])).code).toBe(0)
    const dir = path.join(work, 'wb')
    const wb = await mountAt(dir, ['--name', 'wb', '--writeback'])
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `small-${i}.txt`, bytes: randomBytes(100 + i * 97) }))
    files.push({ name: 'big.bin', bytes: randomBytes(2 * 1024 * 1024 + 5) })
    for (const f of files) await writeFile(`${dir}/${f.name}`, f.bytes)
    // read-your-writes while the stores run behind
    for (const f of files) expect((await readFile(`${dir}/${f.name}`)).equals(f.bytes)).toBe(true)
    // an editor's save (write a temporary file, then rename it over) and a removal right after a close
    await writeFile(`${dir}/doc.txt`, 'first')
    await writeFile(`${dir}/doc.tmp`, 'second version')
    await rename(`${dir}/doc.tmp`, `${dir}/doc.txt`)
    await writeFile(`${dir}/gone.txt`, 'short-lived')
    await rm(`${dir}/gone.txt`)
    // fsync waits for the cluster: another client sees the bytes as soon as it returns
    const handle = await open(`${dir}/synced.bin`, 'w')
    const synced = randomBytes(300_000)
    await handle.write(synced)
    await handle.sync()
    const wbName = (await new Keystore(path.join(cluster.dir, '.cairn', 'keys')).info('wb')).name.text
    const early = await cluster.cairn(['cat', `/ipns/${wbName}/synced.bin`])
    expect(early.code, early.stderr).toBe(0)
    expect(early.stdout.equals(synced)).toBe(true)
    await handle.close()

    // unmount publishes everything still queued, and nothing along the way failed to store
    expect(await wb.stop()).toBe(0)
    expect(wb.log).not.toMatch(/could not be stored|dropped/)
    const out = path.join(work, 'wb-out')
    const got = await cluster.cairn(['get', `/ipns/${wbName}`, '-o', out])
    expect(got.code, got.stderr.toString()).toBe(0)
    for (const f of files) expect((await readFile(path.join(out, f.name))).equals(f.bytes), f.name).toBe(true)
    expect(await readFile(path.join(out, 'doc.txt'), 'utf8')).toBe('second version')
    expect((await readFile(path.join(out, 'synced.bin'))).equals(synced)).toBe(true)
    expect((await readdir(out)).sort()).toEqual([...files.map((f) => f.name), 'doc.txt', 'synced.bin'].sort())

    // the exerciser, closing and reopening often, so reads, writes and background stores interleave
    const again = await mountAt(dir, ['--name', 'wb', '--writeback'])
    const model = path.join(work, 'fsx-wb-model.bin')
    await runFsx({ file: `${dir}/fsx.bin`, model, seed: Number(process.env.FSX_SEED ?? 7), ops: 800, maxSize: 1024 * 1024, maxLength: 64 * 1024, reopenEvery: 25 })
    expect(await again.stop()).toBe(0)
    expect(again.log).not.toMatch(/could not be stored|dropped/)
    const fsx = await cluster.cairn(['cat', `/ipns/${wbName}/fsx.bin`])
    expect(fsx.stdout.equals(await readFile(model))).toBe(true)
  })

  it('unmounts on SIGTERM after publishing, and cairn unmount stops a mount', async () => {
    const dir = path.join(work, 'third')
    const third = await mountAt(dir)
    await writeFile(`${dir}/last.txt`, 'written just before unmount')
    const unmount = await cluster.cairn(['unmount', dir])
    expect(unmount.code, unmount.stderr).toBe(0)
    expect(await third.exited).toBe(0)
    const got = await cluster.cairn(['cat', '/ipns/self/last.txt'])
    expect(got.stdout.toString()).toBe('written just before unmount')
  })

  // last: it restarts the cluster's namenode under the suite's mount
  it('a running mount carries on after the namenode restarts (kill -9): EIO while it is down, not forever', async () => {
    await writeFile(`${mnt}/before-restart.txt`, 'before')
    await cluster.killNamenode()
    // strict: a close needs the namenode, so it fails now (EIO), and does not hang
    expect(await errnoOf(writeFile(`${mnt}/while-down.txt`, 'down'))).toBe('EIO')
    await cluster.startNamenode()
    await cluster.waitForLive(cluster.datanodes.length)
    await until('the mount stores and publishes again', async () => {
      return await writeFile(`${mnt}/after-restart.txt`, 'after').then(() => true, () => false)
    })
    expect(await readFile(`${mnt}/before-restart.txt`, 'utf8')).toBe('before')
    const got = await cluster.cairn(['cat', '/ipns/self/after-restart.txt'])
    expect(got.stdout.toString()).toBe('after')
  }, 180_000)
})
