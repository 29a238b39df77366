import { CID } from 'multiformats/cid'
import { MAX_CIDS_PER_MESSAGE } from '../constants.ts'
import { InvalidArgumentError } from '../errors.ts'

/**
 * Checks on what a peer sent. Handlers never trust a message's shape: a
 * malformed request gets a clear InvalidArgumentError back, not a crash.
 */

export function asObject (value: unknown, what = 'request'): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} is not an object`)
  }
  return value as Record<string, unknown>
}

export function asCid (value: unknown, what = 'cid'): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new InvalidArgumentError(`${what} is not a CID`)
  return cid
}

export function asCids (value: unknown, what = 'cids', max = MAX_CIDS_PER_MESSAGE): CID[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${what} is not a list`)
  if (value.length > max) throw new InvalidArgumentError(`${what} holds ${value.length} CIDs, more than ${max}`)
  return value.map((item, i) => asCid(item, `${what}[${i}]`))
}

export function asString (value: unknown, what: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} is not a string`)
  return value
}

export function asOptionalString (value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : asString(value, what)
}

export function asInteger (value: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}`)
  }
  return value
}

export function asIntegers (value: unknown, what: string, length: number): number[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw new InvalidArgumentError(`${what} must be a list of ${length} integers`)
  }
  return value.map((item, i) => asInteger(item, `${what}[${i}]`))
}

export function asBoolean (value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${what} is not a boolean`)
  return value
}

export function asStrings (value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${what} is not a list`)
  return value.map((item, i) => asString(item, `${what}[${i}]`))
}
