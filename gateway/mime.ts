/** Media types by extension: what browsers need to render or play a file. */
const BY_EXTENSION: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/vnd.microsoft.icon',
  bmp: 'image/bmp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  wasm: 'application/wasm',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  car: 'application/vnd.ipld.car'
}

/** Leading bytes of common formats. */
const SIGNATURES: Array<[number[], string]> = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'application/pdf'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [[0x1f, 0x8b], 'application/gzip'],
  [[0x00, 0x61, 0x73, 0x6d], 'application/wasm'],
  [[0x49, 0x44, 0x33], 'audio/mpeg'],
  [[0x4f, 0x67, 0x67, 0x53], 'audio/ogg'],
  [[0x66, 0x4c, 0x61, 0x43], 'audio/flac'],
  [[0x1a, 0x45, 0xdf, 0xa3], 'video/webm']
]

export function typeByName (name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  const dot = name.lastIndexOf('.')
  return dot <= 0 ? undefined : BY_EXTENSION[name.slice(dot + 1).toLowerCase()]
}

/** A media type from a file's first bytes (up to 512), as browsers sniff: magic numbers, then text or not. */
export function sniffType (head: Uint8Array): string {
  for (const [signature, type] of SIGNATURES) {
    if (head.byteLength >= signature.length && signature.every((b, i) => head[i] === b)) return type
  }
  const riff = head.byteLength >= 12 && String.fromCharCode(...head.subarray(0, 4)) === 'RIFF'
  if (riff && String.fromCharCode(...head.subarray(8, 12)) === 'WEBP') return 'image/webp'
  if (riff && String.fromCharCode(...head.subarray(8, 12)) === 'WAVE') return 'audio/wav'
  if (head.byteLength >= 12 && String.fromCharCode(...head.subarray(4, 8)) === 'ftyp') return 'video/mp4'
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).trimStart().slice(0, 256).toLowerCase()
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<head') || text.startsWith('<body')) return 'text/html; charset=utf-8'
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'image/svg+xml'
  if (text.startsWith('<?xml')) return 'application/xml'
  return looksLikeText(head) ? 'text/plain; charset=utf-8' : 'application/octet-stream'
}

function looksLikeText (head: Uint8Array): boolean {
  if (head.byteLength === 0) return true
  for (const b of head) {
    // control bytes other than tab, newlines, form feed and escape mean binary (the WHATWG rule)
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false
  }
  // a multi-byte character cut at the end of the sample is still text
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.byteLength - 3)))
    return true
  } catch {
    return false
  }
}

/** The media type of a non-UnixFS block by its codec. */
export function typeOfCodec (code: number): string {
  switch (code) {
    case 0x71: return 'application/vnd.ipld.dag-cbor'
    case 0x0129: return 'application/vnd.ipld.dag-json'
    case 0x0200: return 'application/json'
    case 0x51: return 'application/cbor'
    default: return 'application/octet-stream'
  }
}
