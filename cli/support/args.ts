import { InvalidArgumentError } from 'commander'
import { MAX_REPLICATION, parseBytes, parseCid, parseContentPath, profileByName } from '../../core/index.ts'
import type { CID } from 'multiformats/cid'
import type { ContentPath, ProfileName } from '../../core/index.ts'

/** Option parsers: commander reports their messages as usage errors. */

export function replicationArg (text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_REPLICATION) {
    throw new InvalidArgumentError(`replication must be a whole number from 1 to ${MAX_REPLICATION}`)
  }
  return n
}

export function countArg (min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
    return n
  }
}

export function fractionArg (text: string): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a fraction from 0 to 1, such as 0.999')
  return n
}

export function byteOffsetArg (text: string): number {
  const n = Number(text)
  if (Number.isSafeInteger(n) && n >= 0) return n
  try {
    return parseBytes(text)
  } catch {
    throw new InvalidArgumentError('expected a byte count such as 1024 or 4MiB')
  }
}

export function sizeArg (text: string): number {
  try {
    return parseBytes(text)
  } catch {
    throw new InvalidArgumentError('expected a size such as 512MiB or 10GiB')
  }
}

export function profileArg (text: string): ProfileName {
  try {
    return profileByName(text).name
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

export function portArg (text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535')
  return n
}

/** Content paths and CIDs are parsed in the action so their errors carry hints. */
export function contentPath (text: string): ContentPath {
  return parseContentPath(text)
}

export function cidArg (text: string): CID {
  return parseCid(text)
}
