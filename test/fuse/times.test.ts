import { mkdir, stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { TestCluster } from '../helpers/cluster.ts'
import { mountSuite, sh } from './mount-process.ts'
import type { MountProcess } from './mount-process.ts'

const suite = mountSuite('cairn-times-')
let cluster: TestCluster
let work: string
let mnt: string
let drive: MountProcess
/** Every mtime a test set through the mount, by path below it: the remount test checks them all again. */
const expected = new Map<string, number>()

const mountAt = suite.mountAt.bind(suite)

beforeAll(async () => {
  cluster = suite.cluster
  work = suite.work
  mnt = path.join(work, 'mnt')
  drive = await mountAt(mnt)
})

const mtimeOf = async (file: string): Promise<number> => (await stat(file)).mtimeMs
const at = (iso: string): number => Date.parse(iso)

/** Checks the mtime seen through the mount, and remembers it for the remount. */
async function expectMtime (relative: string, mtimeMs: number): Promise<void> {
  expect(await mtimeOf(path.join(mnt, relative)), relative).toBe(mtimeMs)
  expected.set(relative, mtimeMs)
}

/** `tar --full-time -tvf`, as UTC: entry name (directories without their slash) to mtime. */
async function tarMtimes (tarball: string): Promise<Map<string, number>> {
  const listing = await sh(`TZ=UTC tar --full-time -tvf ${tarball}`, work)
  const mtimes = new Map<string, number>()
  for (const line of listing.stdout.trim().split('\n')) {
    const match = /^\S+\s+\S+\s+\d+\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\s+(.+)$/.exec(line)
    if (match === null) throw new Error(`unexpected tar listing line: ${line}`)
    mtimes.set((match[3] as string).replace(/\/$/, ''), Date.parse(`${match[1]}T${match[2]}Z`))
  }
  return mtimes
}

describe('cairn mount: modification times', () => {
  it('runs on the patched binding (no warning about the prebuilt one)', () => {
    expect(drive.log).not.toMatch(/prebuilt binding/)
  })

  it('touch -m -d and touch -a -d set one time each: the mtime is exactly the one set, and an access time never moves it', async () => {
    await mkdir(`${mnt}/t/dir`, { recursive: true })
    await writeFile(`${mnt}/t/m.txt`, 'touched')
    // only the mtime (the access time arrives as UTIME_OMIT)
    await sh(`touch -m -d '2001-02-03 04:05:06Z' ${mnt}/t/m.txt`, work)
    await expectMtime('t/m.txt', at('2001-02-03T04:05:06Z'))
    // only the access time, given and now: the mtime stays (UTIME_OMIT in its place)
    await sh(`touch -a -d '2011-12-13 14:15:16Z' ${mnt}/t/m.txt`, work)
    await expectMtime('t/m.txt', at('2001-02-03T04:05:06Z'))
    await sh(`touch -a ${mnt}/t/m.txt`, work)
    await expectMtime('t/m.txt', at('2001-02-03T04:05:06Z'))
    // a directory's too
    await sh(`touch -m -d '2002-03-04 05:06:07Z' ${mnt}/t/dir && touch -a ${mnt}/t/dir`, work)
    await expectMtime('t/dir', at('2002-03-04T05:06:07Z'))
  })

  it('utimes with distinct access and modification times keeps the modification time, to the millisecond', async () => {
    await writeFile(`${mnt}/t/u.txt`, 'utimes')
    await utimes(`${mnt}/t/u.txt`, new Date('1999-09-09T09:09:09.123Z'), new Date('2005-05-05T05:05:05.456Z'))
    await expectMtime('t/u.txt', at('2005-05-05T05:05:05.456Z'))
    // and the other way round: an access time later than the modification time (utimes takes
    // seconds as a double, so only a fraction a double holds exactly keeps its milliseconds)
    await utimes(`${mnt}/t/u.txt`, new Date('2030-01-01T00:00:00Z'), new Date('1980-01-01T00:00:00.500Z'))
    await expectMtime('t/u.txt', at('1980-01-01T00:00:00.500Z'))
    // before 1970 cannot pass through the binding's unsigned milliseconds: the epoch, not garbage
    await writeFile(`${mnt}/t/old.txt`, 'old')
    await sh(`touch -m -d '1960-01-01 00:00:00Z' ${mnt}/t/old.txt`, work)
    await expectMtime('t/old.txt', 0)
  })

  it('touch without a time sets now (UTIME_NOW)', async () => {
    await writeFile(`${mnt}/t/now.txt`, 'now')
    await sh(`touch -d '2000-01-01 00:00:00Z' ${mnt}/t/now.txt`, work)
    await expectMtime('t/now.txt', at('2000-01-01T00:00:00Z'))
    // the kernel's clock and ours agree to the second; the mtime keeps milliseconds
    const beforeMs = Date.now() - 1000
    await sh(`touch ${mnt}/t/now.txt`, work)
    const mtimeMs = await mtimeOf(`${mnt}/t/now.txt`)
    expect(mtimeMs).toBeGreaterThanOrEqual(beforeMs)
    expect(mtimeMs).toBeLessThanOrEqual(Date.now() + 1000)
    expected.set('t/now.txt', mtimeMs)
  })

  it('tar -x gives every entry the mtime the tarball has (tar --full-time -tvf)', async () => {
    const src = path.join(work, 'tar-src')
    await mkdir(`${src}/pkg/sub/deeper`, { recursive: true })
    const times: Array<[string, string]> = [
      ['pkg/a.txt', '2003-04-05 06:07:08Z'],
      ['pkg/sub/b.bin', '1995-06-07 08:09:10Z'],
      ['pkg/sub/deeper/c.txt', '2019-11-12 13:14:15Z'],
      // directories last: writing their files moved their mtimes
      ['pkg/sub/deeper', '2010-10-10 10:10:10Z'],
      ['pkg/sub', '2008-08-08 08:08:08Z'],
      ['pkg', '2004-04-04 04:04:04Z']
    ]
    await writeFile(`${src}/pkg/a.txt`, 'alpha\n')
    await writeFile(`${src}/pkg/sub/b.bin`, Buffer.alloc(300_000, 7))
    await writeFile(`${src}/pkg/sub/deeper/c.txt`, 'gamma\n')
    // access times unlike the modification times, as a real tree has them
    for (const [name, when] of times) await sh(`touch -m -d '${when}' ${src}/${name} && touch -a -d '2024-01-01 00:00:00Z' ${src}/${name}`, work)
    const tarball = path.join(work, 'pkg.tar')
    await sh(`tar -C ${src} -cf ${tarball} pkg`, work)
    const listed = await tarMtimes(tarball)
    expect([...listed.keys()].sort()).toEqual(times.map(([name]) => name).sort())
    for (const [name, when] of times) expect(listed.get(name), name).toBe(Date.parse(when.replace(' ', 'T')))

    await sh(`mkdir ${mnt}/x && tar -C ${mnt}/x -xf ${tarball} && diff -r ${src}/pkg ${mnt}/x/pkg`, work)
    for (const [name, mtimeMs] of listed) await expectMtime(`x/${name}`, mtimeMs)
  })

  it('cp -p and cp -rp keep the source mtime', async () => {
    const src = path.join(work, 'cp-src')
    await mkdir(`${src}/tree/inner`, { recursive: true })
    await writeFile(`${src}/one.txt`, 'one')
    await writeFile(`${src}/tree/inner/two.txt`, 'two')
    await sh(`touch -m -d '2007-07-07 07:07:07Z' ${src}/one.txt && touch -a -d '2021-01-01 00:00:00Z' ${src}/one.txt`, work)
    await sh(`touch -m -d '2006-06-06 06:06:06Z' ${src}/tree/inner/two.txt && touch -m -d '2005-05-05 05:05:05Z' ${src}/tree/inner ${src}/tree`, work)
    await sh(`cp -p ${src}/one.txt ${mnt}/t/one.txt && cp -rp ${src}/tree ${mnt}/t/tree`, work)
    await expectMtime('t/one.txt', at('2007-07-07T07:07:07Z'))
    await expectMtime('t/tree/inner/two.txt', at('2006-06-06T06:06:06Z'))
    await expectMtime('t/tree/inner', at('2005-05-05T05:05:05Z'))
    await expectMtime('t/tree', at('2005-05-05T05:05:05Z'))
  })

  it('after a remount, every mtime set above is exactly as set', async () => {
    expect(expected.size).toBeGreaterThan(10)
    expect(await drive.stop()).toBe(0)
    drive = await mountAt(mnt)
    const seen = new Map<string, number>()
    for (const relative of expected.keys()) seen.set(relative, await mtimeOf(path.join(mnt, relative)))
    expect(seen).toEqual(expected)
    // and another client reads the same from the stored tree
    const listed = await cluster.cairn(['stat', '/ipns/self/t/m.txt', '--json'])
    expect(listed.stdout.toString()).toContain('2001-02-03')
  })

  it('on fuse-native\'s prebuilt binding, the mount warns once and falls back: times given to both as given, else now', async () => {
    expect((await cluster.cairn(['key', 'gen', 'prebuilt'])).code).toBe(0)
    const dir = path.join(work, 'prebuilt')
    const old = await mountAt(dir, ['--name', 'prebuilt'], { PREBUILDS_ONLY: '1' })
    expect(old.log.match(/prebuilt binding is in use/g)).toHaveLength(1)
    await writeFile(`${dir}/f.txt`, 'old binding')
    await sh(`touch -d '2001-02-03 04:05:06Z' ${dir}/f.txt`, work)
    expect(await mtimeOf(`${dir}/f.txt`)).toBe(at('2001-02-03T04:05:06Z'))
    const beforeMs = Date.now() - 1000
    await sh(`touch ${dir}/f.txt`, work)
    expect(await mtimeOf(`${dir}/f.txt`)).toBeGreaterThanOrEqual(beforeMs)
    expect(await old.stop()).toBe(0)
  })
})
