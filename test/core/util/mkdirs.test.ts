import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeDirectories } from '../../../core/index.ts'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'cairn-mkdirs-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('makeDirectories (mkdir -p)', () => {
  it('creates missing parents and answers the first directory it made, as Node\'s recursive mkdir', async () => {
    const target = path.join(dir, 'a', 'b', 'c')
    expect(await makeDirectories(target, 0o700)).toBe(path.join(dir, 'a'))
    expect((await stat(target)).isDirectory()).toBe(true)
    expect((await stat(path.join(dir, 'a'))).mode & 0o777).toBe(0o700)
    expect(await makeDirectories(target)).toBeUndefined()
  })

  it('refuses a file in the way and a dangling symlink', async () => {
    await writeFile(path.join(dir, 'file'), 'x')
    await expect(makeDirectories(path.join(dir, 'file'))).rejects.toMatchObject({ code: 'EEXIST' })
    await expect(makeDirectories(path.join(dir, 'file', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' })
    await symlink(path.join(dir, 'nowhere'), path.join(dir, 'dangling'))
    // the link is there but leads nowhere: refused, naming it
    await expect(makeDirectories(path.join(dir, 'dangling', 'below'))).rejects.toMatchObject({ code: 'EEXIST', path: path.join(dir, 'dangling') })
  })

  // Node's own recursive mkdir never returns for these (100% CPU): the test would time out
  it('fails under /proc instead of spinning', async () => {
    await expect(makeDirectories('/proc/cairn-no-such/dir')).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(makeDirectories('/proc/cairn-no-such')).rejects.toMatchObject({ code: 'ENOENT' })
  }, 10_000)
})
