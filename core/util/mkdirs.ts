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
    return first ?? dir
  } catch (err) {
    // another process made it meanwhile; a second ENOENT is final
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    await existingDirectory(dir, err)
    return first
  }
}

async function existingDirectory (dir: string, eexist: unknown): Promise<undefined> {
  const info = await stat(dir).catch(() => undefined)
  if (info?.isDirectory() !== true) throw eexist
  return undefined
}
