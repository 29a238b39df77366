import { mkdirSync, statSync } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import path from 'node:path'

/*
 * `mkdir -p`, because Node's own ({ recursive: true }) never returns for a
 * path under /proc or /sys (measured on Node 20 and 24, sync and async:
 * 100% CPU, forever): those filesystems answer ENOENT for a child they
 * cannot hold, Node reads that as "the parent is missing", creates the
 * parent (EEXIST: fine) and tries the child again. Here a second ENOENT,
 * once the parent is known to be there, is final and reaches the caller.
 */

/**
 * Creates `dir` and its missing parents. Resolves to the first directory it
 * created, or undefined when `dir` was already a directory (as Node's
 * recursive mkdir). Throws EEXIST when `dir` is something else.
 */
export async function makeDirectories (dir: string, mode?: number): Promise<string | undefined> {
  const options = mode === undefined ? {} : { mode }
  try {
    await mkdir(dir, options)
    return dir
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return await existingDirectory(dir, err)
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err
  }
  const first = await makeDirectories(path.dirname(dir), mode)
  try {
    await mkdir(dir, options)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return await existingDirectory(dir, err).then(() => first)
    throw err
  }
  return first ?? dir
}

/** makeDirectories for code that runs before any event loop matters (start-up). */
export function makeDirectoriesSync (dir: string, mode?: number): string | undefined {
  const options = mode === undefined ? {} : { mode }
  try {
    mkdirSync(dir, options)
    return dir
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return existingDirectorySync(dir, err)
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err
  }
  const first = makeDirectoriesSync(path.dirname(dir), mode)
  try {
    mkdirSync(dir, options)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') { existingDirectorySync(dir, err); return first }
    throw err
  }
  return first ?? dir
}

async function existingDirectory (dir: string, eexist: unknown): Promise<undefined> {
  const info = await stat(dir).catch(() => undefined)
  if (info?.isDirectory() !== true) throw eexist
  return undefined
}

function existingDirectorySync (dir: string, eexist: unknown): undefined {
  let isDirectory = false
  try {
    isDirectory = statSync(dir).isDirectory()
  } catch {}
  if (!isDirectory) throw eexist
  return undefined
}
