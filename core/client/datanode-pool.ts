import type { Libp2p } from '@libp2p/interface'
import { BLOCK_PROTOCOL, CONNECT_TIMEOUT_MS } from '../constants.ts'
import { DatanodeUnreachableError } from '../errors.ts'
import { connectData } from '../net/data-channel.ts'
import { parseMultiaddr } from '../net/libp2p.ts'
import { streamChannel } from '../protocol/channel.ts'
import type { Channel } from '../protocol/channel.ts'
import type { DatanodeAddress } from '../protocol/messages.ts'
import { RpcPeer } from '../protocol/rpc.ts'

export interface DatanodePoolInit {
  node: Libp2p
  /** Key of the TLS data channel (deriveDataKey of the cluster key). */
  dataKey: Buffer
  /** Use the TLS data channel where a datanode offers one. Default true; false forces libp2p. */
  preferDataChannel?: boolean
  /** Default CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number
  /** Deadline of one block request. Default 30 s. */
  requestTimeoutMs?: number
}

/** One connection per datanode, shared by every request to it, opened on first use. */
export class DatanodePool {
  private readonly init: DatanodePoolInit
  private readonly peers = new Map<string, Promise<RpcPeer>>()

  constructor (init: DatanodePoolInit) {
    this.init = init
  }

  async peer (datanode: DatanodeAddress, signal?: AbortSignal): Promise<RpcPeer> {
    const existing = this.peers.get(datanode.id)
    if (existing !== undefined) {
      const peer = await existing.catch(() => undefined)
      if (peer !== undefined && !peer.closed) return peer
      if (this.peers.get(datanode.id) === existing) this.peers.delete(datanode.id)
    }
    const opening = this.open(datanode, signal)
    this.peers.set(datanode.id, opening)
    opening.catch(() => { if (this.peers.get(datanode.id) === opening) this.peers.delete(datanode.id) })
    return await opening
  }

  async close (): Promise<void> {
    const peers = [...this.peers.values()]
    this.peers.clear()
    await Promise.all(peers.map(async (p) => { await (await p.catch(() => undefined))?.close().catch(() => {}) }))
  }

  private async open (datanode: DatanodeAddress, signal?: AbortSignal): Promise<RpcPeer> {
    const label = `datanode ${shortId(datanode.id)}`
    const timeoutMs = this.init.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
    let channel: Channel
    if (datanode.data !== undefined && this.init.preferDataChannel !== false) {
      channel = await connectData({
        host: datanode.data.host,
        port: datanode.data.port,
        key: this.init.dataKey,
        label,
        timeoutMs,
        ...(signal === undefined ? {} : { signal })
      })
    } else {
      channel = await this.openStream(datanode, label, timeoutMs, signal)
    }
    return new RpcPeer(channel, {
      timeoutMs: this.init.requestTimeoutMs ?? 30_000,
      transportError: (message, cause) => new DatanodeUnreachableError(message, { cause })
    })
  }

  private async openStream (datanode: DatanodeAddress, label: string, timeoutMs: number, signal?: AbortSignal): Promise<Channel> {
    const signals = [AbortSignal.timeout(timeoutMs)]
    if (signal !== undefined) signals.push(signal)
    let lastError: unknown
    for (const addr of datanode.addrs) {
      try {
        const stream = await this.init.node.dialProtocol(parseMultiaddr(addr), BLOCK_PROTOCOL, { signal: AbortSignal.any(signals) })
        return streamChannel(stream, label)
      } catch (err) {
        lastError = err
      }
    }
    throw new DatanodeUnreachableError(`cannot reach ${label}: ${(lastError as Error)?.message ?? 'it has no address'}`, { cause: lastError })
  }
}

export function shortId (id: string): string {
  return id.length > 12 ? `${id.slice(0, 4)}…${id.slice(-6)}` : id
}
