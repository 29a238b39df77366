/**
 * A bare three-copy transfer: the work of a `cairn put` at replication 3
 * (three verified, durable copies over the data channel's encryption) done
 * by a minimal program, with no protocol, namenode, DAG or bookkeeping
 * around it. Usage:
 *   node bench/reference/bare-copies.ts <file> <work-dir> [copies, default 3]
 * The sender reads the file in 1 MiB blocks, hashes each once and writes it
 * to three receiver processes over TLS-PSK with the data channel's cipher;
 * each receiver hashes every block again (as a datanode verifies) and writes
 * it to a file of its own as a datanode does (O_DIRECT, fsync, up to 8 at
 * once), then fsyncs the directory.
 * Prints {"seconds","peakMemoryBytes"}: seconds from the first read to the
 * last receiver's acknowledgement. The receivers are waited for, so their
 * CPU counts in this process's children.
 *
 * Why: the reference import keeps one unsynced copy and sends nothing, so
 * the put ratio mixes what Cairn's code costs with what three copies cost on
 * this hardware. When Cairn is near this, what is left is the work itself.
 * It is not a proven lower bound: a cleverer program could beat it.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, open, rm } from 'node:fs/promises'
import path from 'node:path'
import tls from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { DATA_CHANNEL_CIPHERS } from '../../core/index.ts'
import { DirectWriter } from '../../datanode/index.ts'

const DEFAULT_COPIES = 3
const BLOCK_BYTES = 1024 * 1024
const KEY = Buffer.alloc(32, 7)
const IDENTITY = 'bare-copies'
/** Blocks a receiver holds while its disk catches up. */
const MAX_QUEUED_WRITES = 8
const TLS_OPTIONS = { ciphers: DATA_CHANNEL_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const

const [first, second, third] = process.argv.slice(2)
const copies = third === undefined ? DEFAULT_COPIES : Number(third)
if (first === '--receive' && second !== undefined) {
  await receive(second)
} else if (first !== undefined && second !== undefined && Number.isInteger(copies) && copies >= 1) {
  await send(first, second, copies)
} else {
  process.stderr.write('usage: bare-copies.ts <file> <work-dir> [copies]\n')
  process.exit(2)
}

async function send (file: string, workDir: string, copies: number): Promise<void> {
  const script = fileURLToPath(import.meta.url)
  const receivers: ChildProcess[] = []
  for (let i = 0; i < copies; i++) {
    receivers.push(fork(script, ['--receive', path.join(workDir, `copy-${i}`)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  }
  const exited = receivers.map(async (child) => await new Promise<number | null>((resolve) => { child.once('exit', resolve) }))
  const ports = await Promise.all(receivers.map(async (child) => await new Promise<number>((resolve) => { child.once('message', (port) => { resolve(port as number) }) })))
  const sockets = await Promise.all(ports.map(async (port) => await new Promise<TLSSocket>((resolve, reject) => {
    const socket = tls.connect({
      ...TLS_OPTIONS,
      host: '127.0.0.1',
      port,
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: KEY, identity: IDENTITY })
    }, () => { resolve(socket) })
    socket.once('error', reject)
  })))

  const started = performance.now()
  const input = await open(file, 'r')
  while (true) {
    const block = Buffer.allocUnsafe(BLOCK_BYTES)
    const { bytesRead } = await input.read(block, 0, BLOCK_BYTES, null)
    if (bytesRead === 0) break
    const bytes = block.subarray(0, bytesRead)
    createHash('sha256').update(bytes).digest()
    const header = Buffer.alloc(4)
    header.writeUInt32BE(bytesRead)
    const drained = sockets.map((socket) => { socket.write(header); return socket.write(bytes) })
    await Promise.all(sockets.map(async (socket, i) => {
      if (drained[i] !== true) await new Promise((resolve) => { socket.once('drain', resolve) })
    }))
  }
  await input.close()
  await Promise.all(sockets.map(async (socket) => await new Promise((resolve) => {
    socket.once('data', resolve)
    socket.write(Buffer.alloc(4))
  })))
  const seconds = (performance.now() - started) / 1000
  for (const socket of sockets) socket.destroy()
  const codes = await Promise.all(exited)
  if (codes.some((code) => code !== 0)) throw new Error(`a receiver failed (exit codes ${codes.join(', ')})`)
  process.stdout.write(`${JSON.stringify({ seconds, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
}

async function receive (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const server = tls.createServer({
    ...TLS_OPTIONS,
    dhparam: 'auto',
    pskCallback: (_socket, identity) => identity === IDENTITY ? KEY : null
  }, (socket) => { serve(socket, dir).catch((err: unknown) => { console.error(err); process.exit(1) }) })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0)
  })
}

/** Reads length-prefixed blocks; a zero length ends the transfer. */
async function serve (socket: TLSSocket, dir: string): Promise<void> {
  const direct = await DirectWriter.create(dir, MAX_QUEUED_WRITES)
  const writes = new Set<Promise<void>>()
  let failure: Error | undefined
  let header = Buffer.alloc(0)
  let block: Buffer | undefined
  let filled = 0
  const store = (bytes: Buffer): void => {
    const name = path.join(dir, createHash('sha256').update(bytes).digest('hex'))
    const write = (direct === undefined ? writeBuffered(name, bytes) : direct.writeFile(name, bytes))
      .catch((err: unknown) => { failure ??= err as Error })
      .finally(() => {
        writes.delete(write)
        // bounded, as a datanode is: reading stops while the disk is behind
        if (writes.size < MAX_QUEUED_WRITES) socket.resume()
      })
    writes.add(write)
    if (writes.size >= MAX_QUEUED_WRITES) socket.pause()
  }
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
          store(block)
          block = undefined
        }
      }
    })
  })
  while (writes.size > 0) await Promise.all([...writes])
  if (failure !== undefined) throw failure
  await syncDirectory(dir)
  socket.end('ok', () => { process.exit(0) })
}

/** Where O_DIRECT is refused (tmpfs): through the page cache, fsynced. */
async function writeBuffered (name: string, bytes: Buffer): Promise<void> {
  const handle = await open(name, 'w')
  try {
    await handle.write(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function syncDirectory (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
