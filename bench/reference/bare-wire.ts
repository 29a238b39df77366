/**
 * What the bare transfer programs (bare-copies.ts, bare-read.ts) share: TLS
 * with the data channel's cipher and a pre-shared key, blocks framed by a
 * 4-byte length (0 ends the stream), and a durable write of one block as a
 * datanode makes it.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { open } from 'node:fs/promises'
import tls from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { SERVICE_NODE_FLAGS } from '../../cli/launch.js'
import { DATA_CHANNEL_CIPHERS } from '../../core/index.ts'
import type { DirectWriter } from '../../datanode/index.ts'

const KEY = Buffer.alloc(32, 7)
const IDENTITY = 'bare-transfer'
const TLS_OPTIONS = { ciphers: DATA_CHANNEL_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const

/** Listens on loopback and sends the port to the parent process; `onSocket` gets each connection. */
export function listenForParent (onSocket: (socket: TLSSocket) => void): void {
  const server = tls.createServer({
    ...TLS_OPTIONS,
    dhparam: 'auto',
    pskCallback: (_socket, identity) => identity === IDENTITY ? KEY : null
  }, onSocket)
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0)
  })
}

export async function connect (port: number): Promise<TLSSocket> {
  return await new Promise<TLSSocket>((resolve, reject) => {
    const socket = tls.connect({
      ...TLS_OPTIONS,
      host: '127.0.0.1',
      port,
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: KEY, identity: IDENTITY })
    }, () => { resolve(socket) })
    socket.once('error', reject)
  })
}

/** Writes one framed block; resolves once the socket takes more. */
export async function sendBlock (socket: TLSSocket, bytes: Uint8Array): Promise<void> {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(bytes.byteLength)
  socket.write(header)
  if (!socket.write(bytes)) await new Promise((resolve) => { socket.once('drain', resolve) })
}

export function endBlocks (socket: TLSSocket): void {
  socket.write(Buffer.alloc(4))
}

/** Calls `onBlock` with each block, each in a buffer of its own, until the end mark. */
export async function receiveBlocks (socket: TLSSocket, onBlock: (block: Buffer) => void): Promise<void> {
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
          onBlock(block)
          block = undefined
        }
      }
    })
  })
}

/** Writes a block file as a datanode does: O_DIRECT where the filesystem allows it, else through the page cache; fsynced either way. */
export async function writeBlockFile (direct: DirectWriter | undefined, name: string, bytes: Buffer): Promise<void> {
  if (direct !== undefined) {
    await direct.writeFile(name, bytes)
    return
  }
  const handle = await open(name, 'w')
  try {
    await handle.write(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export interface Children {
  /** Each child's listening port, in order. */
  ports: number[]
  /** Resolves once every child has exited; throws if one failed. */
  done: () => Promise<void>
}

/**
 * Forks `count` copies of `script` (argsOf(i) each), which answer with
 * listenForParent. They stand for datanodes, so they start with the Node
 * options datanodes start with.
 */
export async function forkListeners (script: string, count: number, argsOf: (i: number) => string[]): Promise<Children> {
  const children: ChildProcess[] = []
  for (let i = 0; i < count; i++) {
    children.push(fork(script, argsOf(i), { execArgv: [...SERVICE_NODE_FLAGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  }
  const exited = children.map(async (child) => await new Promise<number | null>((resolve) => { child.once('exit', resolve) }))
  const ports = await Promise.all(children.map(async (child) => await new Promise<number>((resolve, reject) => {
    child.once('message', (port) => { resolve(port as number) })
    child.once('exit', (code) => { reject(new Error(`${script} ${argsOf(0).join(' ')} exited (${code ?? '?'}) before listening`)) })
  })))
  return {
    ports,
    done: async () => {
      const codes = await Promise.all(exited)
      if (codes.some((code) => code !== 0)) throw new Error(`a child of ${script} failed (exit codes ${codes.join(', ')})`)
    }
  }
}
