import { describe, expect, it } from 'vitest'
import { contentDisposition, etagMatches, parseEntityBytes, parseRange } from '../../gateway/headers.ts'
import { sniffType, typeByName } from '../../gateway/mime.ts'
import { parseRequest } from '../../gateway/request.ts'
import { parseListen } from '../../cli/commands/gateway.ts'

describe('gateway request parsing', () => {
  it('splits the raw target: namespace, id, decoded segments, trailing slash, query', () => {
    const r = parseRequest('/ipfs/bafyx/a%20b/%C4%85/?format=car&dag-scope=entity')
    expect(r).toMatchObject({ namespace: 'ipfs', id: 'bafyx', segments: ['a b', 'ą'], trailingSlash: true })
    expect(r.query.get('dag-scope')).toBe('entity')
    expect(parseRequest('/status').namespace).toBeUndefined()
    expect(parseRequest('/ipns/k51x//y').segments).toEqual(['y'])
  })

  it('refuses every spelling of a way out of the DAG', () => {
    for (const target of ['/ipfs/x/..', '/ipfs/x/a/%2e%2e/b', '/ipfs/x/%2E', '/ipfs/x/a%2fb', '/ipfs/x/a%00', '/ipfs/x/%E0%A4%A', '/ipfs']) {
      expect(() => parseRequest(target), target).toThrow(expect.objectContaining({ name: expect.stringMatching(/InvalidPathError/) }))
    }
  })
})

describe('HTTP headers', () => {
  it('parses single byte ranges and ignores what it cannot serve', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 })
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 })
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined()
    expect(parseRange('items=0-1', 100)).toBeUndefined()
    expect(parseRange('bytes=9-2', 100)).toBeUndefined()
    expect(parseRange(undefined, 100)).toBeUndefined()
  })

  it('entity-bytes: inclusive ends, *, negative offsets, nothing selected', () => {
    expect(parseEntityBytes('0:9', 100)).toEqual({ start: 0, end: 10 })
    expect(parseEntityBytes('10:*', 100)).toEqual({ start: 10, end: 100 })
    expect(parseEntityBytes('-10:*', 100)).toEqual({ start: 90, end: 100 })
    expect(parseEntityBytes('5:-20', 100)).toEqual({ start: 5, end: 81 })
    expect(parseEntityBytes('200:*', 100)).toBeUndefined()
    expect(() => parseEntityBytes('a:b', 100)).toThrow(/is not from:to/)
  })

  it('Content-Disposition: ASCII names plain, others with a UTF-8 filename*', () => {
    expect(contentDisposition('attachment', 'a.txt')).toBe('attachment; filename="a.txt"')
    expect(contentDisposition('inline', 'ą "b".txt')).toBe('inline; filename="_ _b_.txt"; filename*=UTF-8\'\'%C4%85%20%22b%22.txt')
  })

  it('If-None-Match: lists, weak tags, *', () => {
    expect(etagMatches('"a", W/"b"', '"b"')).toBe(true)
    expect(etagMatches('*', '"x"')).toBe(true)
    expect(etagMatches('"a"', '"b"')).toBe(false)
    expect(etagMatches(undefined, '"b"')).toBe(false)
  })

  it('--listen forms', () => {
    expect(parseListen(undefined)).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(parseListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 })
    expect(parseListen(':9000')).toEqual({ host: '127.0.0.1', port: 9000 })
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 })
    expect(() => parseListen('x:y')).toThrow(/is not host:port/)
  })
})

describe('content types', () => {
  it('by extension first, then by the first bytes', () => {
    expect(typeByName('index.HTML')).toBe('text/html; charset=utf-8')
    expect(typeByName('noext')).toBeUndefined()
    expect(typeByName('.hidden')).toBeUndefined()
    expect(sniffType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png')
    expect(sniffType(Buffer.from('  <!DOCTYPE html><p>'))).toBe('text/html; charset=utf-8')
    expect(sniffType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe('image/svg+xml')
    expect(sniffType(Buffer.from('zażółć gęślą jaźń\n'))).toBe('text/plain; charset=utf-8')
    expect(sniffType(Buffer.from([0, 1, 2, 3, 255]))).toBe('application/octet-stream')
    expect(sniffType(new Uint8Array(0))).toBe('text/plain; charset=utf-8')
  })
})
