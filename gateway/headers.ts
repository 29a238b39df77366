import { BadRequestError } from './errors.ts'

export const IMMUTABLE = 'public, max-age=29030400, immutable'

/** True when If-None-Match names `etag` (or is `*`). Weak and strong forms compare equal, as RFC 9110 says for GET. */
export function etagMatches (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '')
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}

/**
 * Content-Disposition per RFC 6266: an ASCII `filename` for old clients and
 * the real name, UTF-8 percent-encoded, in `filename*`.
 */
export function contentDisposition (kind: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return ascii === filename ? `${kind}; filename="${ascii}"` : `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

export type ByteRange = { start: number, end: number } | 'unsatisfiable' | undefined

/**
 * A single `bytes=` range as [start, end] inclusive, clamped to the size.
 * Several ranges, or a unit other than bytes, are ignored (the whole body
 * is served, as RFC 9110 allows); a range past the end is unsatisfiable.
 */
export function parseRange (header: string | undefined, size: number): ByteRange {
  if (header === undefined) return undefined
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header)
  if (match === null) return undefined
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (start >= size) return 'unsatisfiable'
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (end < start) return undefined
  return { start, end }
}

/** `entity-bytes=from:to` (trustless gateway) as [start, end) within `size`; undefined when it selects nothing. */
export function parseEntityBytes (text: string, size: number): { start: number, end: number } | undefined {
  const match = /^(-?\d+):(-?\d+|\*)$/.exec(text)
  if (match === null) throw new BadRequestError(`entity-bytes=${text} is not from:to`, { hint: 'e.g. entity-bytes=0:1023, 1024:*, -1024:*' })
  const resolve = (n: number): number => n < 0 ? Math.max(0, size + n) : n
  const start = resolve(Number(match[1]))
  const end = match[2] === '*' ? size : Math.min(size, resolve(Number(match[2])) + 1)
  return end > start && start < size ? { start, end } : undefined
}
