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
import { createHash } from 'node:crypto'
import { mkdir, open, rm } from 'node:fs/promises'
import path from 'node:path'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { DirectWriter } from '../../datanode/index.ts'
import { connect, endBlocks, forkListeners, listenForParent, receiveBlocks, sendBlock, writeBlockFile } from './bare-wire.ts'

const DEFAULT_COPIES = 3
const BLOCK_BYTES = 1024 * 1024
/** Blocks a receiver holds while its disk catches up. */
const MAX_QUEUED_WRITES = 8

const [first, second, third] = process.argv.slice(2)
const copies = third === undefined ? DEFAULT_COPIES : Number(third)
if (first === '--receive' && second !== undefined) {
  await prepare(second)
  listenForParent((socket) => { receive(socket, second).catch((err: unknown) => { console.error(err); process.exit(1) }) })
} else if (first !== undefined && second !== undefined && Number.isInteger(copies) && copies >= 1) {
  await send(first, second, copies)
} else {
  process.stderr.write('usage: bare-copies.ts <file> <work-dir> [copies]\n')
  process.exit(2)
}

async function send (file: string, workDir: string, copies: number): Promise<void> {
  const receivers = await forkListeners(fileURLToPath(import.meta.url), copies, (i) => ['--receive', path.join(workDir, `copy-${i}`)])
  const sockets = await Promise.all(receivers.ports.map(connect))

  const started = performance.now()
  const input = await open(file, 'r')
  while (true) {
    const block = Buffer.allocUnsafe(BLOCK_BYTES)
    const { bytesRead } = await input.read(block, 0, BLOCK_BYTES, null)
    if (bytesRead === 0) break
    const bytes = block.subarray(0, bytesRead)
    createHash('sha256').update(bytes).digest()
    await Promise.all(sockets.map(async (socket) => { await sendBlock(socket, bytes) }))
  }
  await input.close()
  await Promise.all(sockets.map(async (socket) => await new Promise((resolve) => {
    socket.once('data', resolve)
    endBlocks(socket)
  })))
  const seconds = (performance.now() - started) / 1000
  for (const socket of sockets) socket.destroy()
  await receivers.done()
  process.stdout.write(`${JSON.stringify({ seconds, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
}

async function prepare (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
}

/** Hashes and stores every block it is sent, up to MAX_QUEUED_WRITES at once; answers once all are durable. */
async function receive (socket: TLSSocket, dir: string): Promise<void> {
  const direct = await DirectWriter.create(dir, MAX_QUEUED_WRITES)
  const writes = new Set<Promise<void>>()
  let failure: Error | undefined
  await receiveBlocks(socket, (bytes) => {
    const name = path.join(dir, createHash('sha256').update(bytes).digest('hex'))
    const write = writeBlockFile(direct, name, bytes)
      .catch((err: unknown) => { failure ??= err as Error })
      .finally(() => {
        writes.delete(write)
        // bounded, as a datanode is: reading stops while the disk is behind
        if (writes.size < MAX_QUEUED_WRITES) socket.resume()
      })
    writes.add(write)
    if (writes.size >= MAX_QUEUED_WRITES) socket.pause()
  })
  while (writes.size > 0) await Promise.all([...writes])
  if (failure !== undefined) throw failure
  const handle = await open(dir, 'r')
  await handle.sync()
  await handle.close()
  socket.end('ok', () => { process.exit(0) })
}
