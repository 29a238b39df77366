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
import { createHash } from 'node:crypto'
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { DirectWriter } from '../../datanode/index.ts'
import { connect, endBlocks, forkListeners, listenForParent, receiveBlocks, sendBlock, writeBlockFile } from './bare-wire.ts'

const DEFAULT_SERVERS = 2
const BLOCK_BYTES = 1024 * 1024
const READ_AHEAD = 8

const args = process.argv.slice(2)
if (args[0] === '--serve' && args.length === 5) {
  const names = await store(args[1] as string, args[2] as string, Number(args[3]), Number(args[4]))
  listenForParent((socket) => {
    serve(socket, names).then(() => { socket.end(() => { process.exit(0) }) }, (err: unknown) => { console.error(err); process.exit(1) })
  })
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
  const children = await forkListeners(fileURLToPath(import.meta.url), servers, (i) => ['--serve', file, path.join(workDir, `server-${i}`), String(i), String(servers)])
  const started = performance.now()
  const received = await Promise.all(children.ports.map(async (port) => {
    const socket = await connect(port)
    let bytes = 0
    await receiveBlocks(socket, (block) => {
      createHash('sha256').update(block).digest()
      bytes += block.byteLength
    })
    socket.destroy()
    return bytes
  }))
  const seconds = (performance.now() - started) / 1000
  await children.done()
  const bytes = received.reduce((a, b) => a + b, 0)
  process.stdout.write(`${JSON.stringify({ seconds, bytes, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
}

/** Stores blocks index, index + servers, ... of `file` as a datanode would (untimed); answers their files in order. */
async function store (file: string, dir: string, index: number, servers: number): Promise<string[]> {
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
    await writeBlockFile(direct, name, bytes)
    names.push(name)
  }
  await input.close()
  return names
}

/** Reads, verifies and sends each block, READ_AHEAD reads in flight. */
async function serve (socket: TLSSocket, names: string[]): Promise<void> {
  const verified = async (name: string): Promise<Buffer> => {
    const bytes = await readFile(name)
    if (createHash('sha256').update(bytes).digest('hex') !== path.basename(name)) throw new Error(`${name} does not match its hash`)
    return bytes
  }
  const ahead: Array<Promise<Buffer>> = []
  let next = 0
  while (next < names.length || ahead.length > 0) {
    while (ahead.length < READ_AHEAD && next < names.length) ahead.push(verified(names[next++] as string))
    await sendBlock(socket, await (ahead.shift() as Promise<Buffer>))
  }
  endBlocks(socket)
}
