import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MAIN } from '../helpers/cluster.ts'
import { http } from './helpers.ts'

const dirs: string[] = []
afterAll(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }) })

describe('cairn up starts the gateway', () => {
  it('prints its URL, serves the status page on loopback, and stops with the cluster', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-up-gw-'))
    dirs.push(dir)
    const child = spawn(process.execPath, [MAIN, 'up', '--datanodes', '1', '--gateway', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no banner: ${out} ${err}`)) }, 90_000)
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          if (out.includes('Press Ctrl-C to stop.')) { clearTimeout(timer); resolve() }
        })
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`cairn up exited (${code ?? '?'}): ${err}`)) })
      })
      const url = /gateway\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1]
      expect(url, out).toBeDefined()
      const page = await http(url as string, '/')
      expect(page.status).toBe(200)
      expect(page.body.toString()).toContain('Cluster status')
      expect(page.body.toString()).toMatch(/datanodes live<\/span><b>1 \/ 1/)
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
  }, 150_000)
})
