import { open, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { DataDirLockedError, LocalFileError } from '../errors.ts'
import { makeDirectories } from './mkdirs.ts'

export interface DirLock {
  release (): Promise<void>
}

/**
 * Creates the data directory `dir` if needed and takes `dir/LOCK` for this
 * process. Two processes on one data directory would corrupt it, so the
 * second is refused; a lock left by a process that no longer exists
 * (kill -9) is taken over.
 */
export async function lockDataDir (dir: string, what: string): Promise<DirLock> {
  try {
    await makeDirectories(dir)
  } catch (err) {
    throw new LocalFileError(`cannot create the data directory ${dir} for this ${what}: ${(err as Error).message}`, {
      cause: err,
      hint: 'choose a data directory (--data) on a local disk this user can write to'
    })
  }
  const file = path.join(dir, 'LOCK')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.sync()
      await handle.close()
      return {
        async release () {
          const owner = await readOwner(file)
          if (owner === process.pid) await rm(file, { force: true })
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LocalFileError(`cannot lock ${dir}: ${(err as Error).message}`, { cause: err })
      }
      const owner = await readOwner(file)
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new DataDirLockedError(`${dir} is in use by another ${what} (pid ${owner})`, {
          hint: `stop that process first, or give this ${what} its own data directory`
        })
      }
      await rm(file, { force: true })
    }
  }
  throw new DataDirLockedError(`could not lock ${dir}`, { hint: 'another process keeps taking the lock' })
}

async function readOwner (file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
