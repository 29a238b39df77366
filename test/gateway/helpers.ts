import { request as httpRequest } from 'node:http'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { CarReader } from '@ipld/car'
import { exporter } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { KUBO_FIXTURES } from '../helpers/fixtures.ts'

export interface HttpResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** The body was cut off (the server destroyed the connection). */
  aborted: boolean
}

/** A raw HTTP request: the path goes on the wire as written (no `..` folding, as fetch would do). */
export async function http (base: string, target: string, init: { method?: string, headers?: Record<string, string>, timeoutMs?: number } = {}): Promise<HttpResult> {
  const url = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: target, method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      const chunks: Buffer[] = []
      let aborted = false
      res.on('data', (c: Buffer) => { chunks.push(c) })
      res.on('aborted', () => { aborted = true })
      res.on('error', () => { aborted = true })
      res.on('close', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), aborted: aborted || !res.complete })
      })
    })
    req.setTimeout(init.timeoutMs ?? 60_000, () => { req.destroy(new Error(`no answer to ${target}`)) })
    req.on('error', reject)
    req.end()
  })
}

/** A file's bytes straight from a fixture CAR, with the ecosystem's exporter: what the gateway must return. */
export async function fixtureContent (car: string, contentPath: string): Promise<Buffer> {
  const reader = await CarReader.fromBytes(await readFile(path.join(KUBO_FIXTURES, car)))
  const store = {
    async * get (cid: CID) {
      const block = await reader.get(cid)
      if (block === undefined) throw new Error(`fixture lacks ${cid}`)
      yield block.bytes
    }
  }
  const entry = await exporter(contentPath, store)
  if (entry.type !== 'file' && entry.type !== 'raw') throw new Error(`${contentPath} is not a file`)
  const chunks: Uint8Array[] = []
  for await (const chunk of entry.content()) chunks.push(chunk)
  return Buffer.concat(chunks)
}
