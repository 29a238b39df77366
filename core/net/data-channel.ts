import { hkdfSync } from 'node:crypto'
import type { NetConnectOpts } from 'node:net'
import tls from 'node:tls'
import type { Server, TLSSocket } from 'node:tls'
import { DATA_CHANNEL_TAG } from '../constants.ts'
import { DatanodeUnreachableError } from '../errors.ts'
import { ReusedReadBuffer, socketChannel } from '../protocol/channel.ts'
import type { Channel } from '../protocol/channel.ts'

/**
 * The bulk data channel: the block protocol over TLS 1.2 with a key derived
 * from the cluster key (TLS-PSK, ephemeral DH for forward secrecy).
 *
 * Why beside libp2p: on this class of machine one libp2p stream (noise over
 * yamux) moves ~125 MiB/s, because of 64 KiB noise frames and per-frame JS
 * work, while OpenSSL's TLS with large records moves ~600 MiB/s. HDFS makes
 * the same split between its RPC and its data transfer protocol. Integrity
 * does not depend on the channel: every block is checked against its CID.
 */

/** TLS 1.2 PSK suites, AES-GCM first (AES-NI makes it the cheapest here). */
export const DATA_CHANNEL_CIPHERS = 'DHE-PSK-AES256-GCM-SHA384:ECDHE-PSK-CHACHA20-POLY1305'
const IDENTITY = DATA_CHANNEL_TAG
const HANDSHAKE_TIMEOUT_MS = 5_000

/** A TLS key of its own, so the libp2p pnet key is never used for two protocols. */
export function deriveDataKey (clusterKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterKey, 'cairn', 'data-channel/1', 32))
}

export interface DataListenerInit {
  host: string
  /** 0 for any free port. */
  port: number
  key: Buffer
  onChannel: (channel: Channel, socket: TLSSocket) => void
}

export interface DataListener {
  host: string
  port: number
  close (): Promise<void>
}

export async function listenData (init: DataListenerInit): Promise<DataListener> {
  const sockets = new Set<TLSSocket>()
  const server: Server = tls.createServer({
    ciphers: DATA_CHANNEL_CIPHERS,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    dhparam: 'auto',
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    pskCallback: (_socket, identity) => identity === IDENTITY ? init.key : null
  }, (socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.on('close', () => { sockets.delete(socket) })
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    init.onChannel(socketChannel(socket, `data client ${remote}`), socket)
  })
  // a peer with the wrong key fails the handshake; nothing to do but drop it
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : init.port
  return {
    host: init.host,
    port,
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

export interface DataConnectInit {
  host: string
  port: number
  key: Buffer
  /** Label for errors and logs. */
  label: string
  timeoutMs?: number
  signal?: AbortSignal
}

export async function connectData (init: DataConnectInit): Promise<Channel> {
  const timeoutMs = init.timeoutMs ?? HANDSHAKE_TIMEOUT_MS
  return await new Promise<Channel>((resolve, reject) => {
    const reads = new ReusedReadBuffer()
    // tls.connect takes net's onread (documented), which @types/node's ConnectionOptions leaves out
    const options: tls.ConnectionOptions & Pick<NetConnectOpts, 'onread'> = {
      onread: reads.onread,
      host: init.host,
      port: init.port,
      ciphers: DATA_CHANNEL_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: init.key, identity: IDENTITY })
    }
    const socket = tls.connect(options)
    const fail = (err: Error): void => {
      cleanup()
      socket.destroy()
      reject(new DatanodeUnreachableError(`cannot open a data channel to ${init.label} (${init.host}:${init.port}): ${err.message}`, {
        cause: err,
        hint: 'check that the datanode is running and that this machine has the cluster key'
      }))
    }
    const onAbort = (): void => { fail(new Error('cancelled')) }
    const timer = setTimeout(() => { fail(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('error', fail)
      init.signal?.removeEventListener('abort', onAbort)
    }
    init.signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('error', fail)
    socket.once('secureConnect', () => {
      cleanup()
      socket.setNoDelay(true)
      resolve(socketChannel(socket, init.label, reads))
    })
  })
}
