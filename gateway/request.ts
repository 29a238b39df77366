import { InvalidPathError } from '../core/index.ts'

export interface GatewayRequest {
  /** `ipfs`, `ipns`, or undefined for the gateway's own pages. */
  namespace?: 'ipfs' | 'ipns'
  /** The CID or name after the namespace. */
  id: string
  /** Decoded path segments below it. */
  segments: string[]
  /** The URL path ended with a slash. */
  trailingSlash: boolean
  /** The raw path, for routes of the gateway's own. */
  rawPath: string
  query: URLSearchParams
}

/**
 * Splits the raw request target itself rather than through WHATWG URL,
 * which would quietly fold `..` and `%2e%2e` into another path: here they,
 * encoded slashes and NUL are refused outright, so no spelling of a path
 * can leave the DAG it names.
 */
export function parseRequest (target: string): GatewayRequest {
  const q = target.indexOf('?')
  const rawPath = q < 0 ? target : target.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1))
  const parts = rawPath.split('/').filter((p) => p !== '')
  const trailingSlash = rawPath.endsWith('/')
  const first = parts[0]
  if (first !== 'ipfs' && first !== 'ipns') return { id: '', segments: [], trailingSlash, rawPath, query }
  if (parts.length < 2) throw new InvalidPathError(`${rawPath} names no ${first === 'ipfs' ? 'CID' : 'name'}`, { hint: `use /${first}/<${first === 'ipfs' ? 'cid' : 'name'}>[/path]` })
  const decoded = parts.slice(1).map(decodeSegment)
  return { namespace: first, id: decoded[0] as string, segments: decoded.slice(1), trailingSlash, rawPath, query }
}

function decodeSegment (raw: string): string {
  let segment: string
  try {
    segment = decodeURIComponent(raw)
  } catch (err) {
    throw new InvalidPathError(`"${raw}" is not a valid percent-encoded path segment`, { cause: err })
  }
  if (segment === '.' || segment === '..') {
    throw new InvalidPathError(`"${raw}" cannot appear in a content path`, { hint: 'paths inside a DAG only go down from its root' })
  }
  if (segment.includes('/')) {
    throw new InvalidPathError(`"${raw}" encodes a path separator inside a segment`, { hint: 'write each directory as its own segment' })
  }
  if (segment.includes('\0')) throw new InvalidPathError('a path segment contains a NUL byte')
  return segment
}

/** A path rebuilt from segments, percent-encoded (header values must be ASCII). */
export function encodePath (namespace: string, id: string, segments: string[]): string {
  return `/${namespace}/${id}${segments.map((s) => `/${encodeURIComponent(s)}`).join('')}`
}
