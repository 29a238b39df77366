/**
 * A bare cold read: the work of reading a file back from datanodes (what a
 * `cairn get` or a cold read through the mount does) by a minimal program,
 * with no protocol, namenode, DAG or cache around it. Usage:
 *   node bench/reference/bare-read.ts <file> <work-dir> [servers, default 2]
 * Each server process first stores its share of the file's 1 MiB blocks as a
 * datanode does (O_DIRECT, so none is in the page cache), untimed. Then each
 * reads its blocks from disk, hashes them (a datanode verifies on read) and
 * sends them over TLS with the data channel's cipher, up to 8 reads ahead;
 * the reader hashes every block again. Prints {"seconds","peakMemoryBytes"}:
 * seconds from connecting to the last block received.
 *
 * Why: beside a cold read through the mount, it shows how much of the time
 * is the work itself on this machine. It is not a proven lower bound.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import tls from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { DATA_CHANNEL_CIPHERS } from '../../core/index.ts'
import { DirectWriter } from '../../datanode/index.ts'

const DEFAULT_SERVERS = 2
const BLOCK_BYTES = 1024 * 1024
const READ_AHEAD = 8
const KEY = Buffer.alloc(32, 9)
const IDENTITY = 'bare-read'
const TLS_OPTIONS = { ciphers: DATA_CHANNEL_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const

const args = process.argv.slice(2)
if (args[0] === '--serve' && args.length === 5) {
  await serve(args[1] as string, args[2] as string, Number(args[3]), Number(args[4]))
} else if (args.length === 2 || args.length === 3) {
  const servers = args[2] === undefined ? DEFAULT_SERVERS : Number(args[2])
  if (!Number.isInteger(servers) || servers < 1) usage()
  await read(args[0] as string, args[1] as string, servers)
} else {
  usage()
}

function usage (): never {
  process.stderr.write('usage: bare-read.ts <file> <work-dir> [servers]\n')
  process.exit(2)
}

async function read (file: string, workDir: string, servers: number): Promise<void> {
  const script = fileURLToPath(import.meta.url)
  const children: ChildProcess[] = []
  for (let i = 0; i < servers; i++) {
    children.push(fork(script, ['--serve', file, path.join(workDir, `server-${i}`), String(i), String(servers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  }
  const exited = children.map(async (child) => await new Promise<number | null>((resolve) => { child.once('exit', resolve) }))
  const ports = await Promise.all(children.map(async (child) => await new Promise<number>((resolve) => { child.once('message', (port) => { resolve(port as number) }) })))
  const started = performance.now()
  const received = await Promise.all(ports.map(async (port) => await receiveAll(port)))
  const seconds = (performance.now() - started) / 1000
  const codes = await Promise.all(exited)
  if (codes.some((code) => code !== 0)) throw new Error(`a server failed (exit codes ${codes.join(', ')})`)
  const bytes = received.reduce((a, b) => a + b, 0)
  process.stdout.write(`${JSON.stringify({ seconds, bytes, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
}

/** Reads length-prefixed blocks until a zero length; answers the bytes received. */
async function receiveAll (port: number): Promise<number> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tls.connect({ ...TLS_OPTIONS, host: '127.0.0.1', port, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: KEY, identity: IDENTITY }) }, () => { resolve(s) })
    s.once('error', reject)
  })
  let total = 0
  let header = Buffer.alloc(0)
  let block: Buffer | undefined
  let filled = 0
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject)
    socket.on('data', (chunk: Buffer) => {
      let at = 0
      while (at < chunk.byteLength) {
        if (block === undefined) {
          const take = Math.min(4 - header.byteLength, chunk.byteLength - at)
          header = Buffer.concat([header, chunk.subarray(at, at + take)])
          at += take
          if (header.byteLength < 4) return
          const length = header.readUInt32BE(0)
          header = Buffer.alloc(0)
          if (length === 0) { resolve(); return }
          block = Buffer.allocUnsafe(length)
          filled = 0
        }
        const n = Math.min(block.byteLength - filled, chunk.byteLength - at)
        chunk.copy(block, filled, at, at + n)
        filled += n
        at += n
        if (filled === block.byteLength) {
          createHash('sha256').update(block).digest()
          total += block.byteLength
          block = undefined
        }
      }
    })
  })
  socket.destroy()
  return total
}

/** Stores blocks index, index + servers, ... of `file` (untimed), then streams them to one reader. */
async function serve (file: string, dir: string, index: number, servers: number): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const direct = await DirectWriter.create(dir, 1)
  const names: string[] = []
  const input = await open(file, 'r')
  for (let position = index * BLOCK_BYTES; ; position += servers * BLOCK_BYTES) {
    const buffer = Buffer.allocUnsafe(BLOCK_BYTES)
    const { bytesRead } = await input.read(buffer, 0, BLOCK_BYTES, position)
    if (bytesRead === 0) break
    const bytes = buffer.subarray(0, bytesRead)
    const name = path.join(dir, createHash('sha256').update(bytes).digest('hex'))
    if (direct === undefined) await writeFileBuffered(name, bytes)
    else await direct.writeFile(name, bytes)
    names.push(name)
  }
  await input.close()

  const server = tls.createServer({
    ...TLS_OPTIONS,
    dhparam: 'auto',
    pskCallback: (_socket, identity) => identity === IDENTITY ? KEY : null
  }, (socket) => {
    stream(socket, names).then(() => { socket.end(() => { process.exit(0) }) }, (err: unknown) => { console.error(err); process.exit(1) })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0)
  })
}

async function stream (socket: TLSSocket, names: string[]): Promise<void> {
  const verified = async (name: string): Promise<Buffer> => {
    const bytes = await readFile(name)
    if (createHash('sha256').update(bytes).digest('hex') !== path.basename(name)) throw new Error(`${name} does not match its hash`)
    return bytes
  }
  const ahead: Array<Promise<Buffer>> = []
  let next = 0
  while (next < names.length || ahead.length > 0) {
    while (ahead.length < READ_AHEAD && next < names.length) ahead.push(verified(names[next++] as string))
    const bytes = await (ahead.shift() as Promise<Buffer>)
    const header = Buffer.alloc(4)
    header.writeUInt32BE(bytes.byteLength)
    socket.write(header)
    if (!socket.write(bytes)) await new Promise((resolve) => { socket.once('drain', resolve) })
  }
  socket.write(Buffer.alloc(4))
}

async function writeFileBuffered (name: string, bytes: Buffer): Promise<void> {
  const handle = await open(name, 'w')
  try {
    await handle.write(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
