import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { CONNECT_TIMEOUT_MS, NAMENODE_PROTOCOL } from '../constants.ts'
import { NamenodeUnreachableError } from '../errors.ts'
import { parseMultiaddr } from '../net/libp2p.ts'
import { streamChannel } from '../protocol/channel.ts'
import { RpcPeer } from '../protocol/rpc.ts'
import type {
  AllocateParams, AllocateResult, ClusterReport, DagPutParams, LocateResult, NameHistoryEntry, NamePutParams, NameRecord,
  PinParams, PinResult, PinsResult, StatResult
} from '../protocol/messages.ts'

export interface NamenodeClientInit {
  node: Libp2p
  /** The namenode's multiaddr with /p2p/<id>. */
  address: string
  /** Default CONNECT_TIMEOUT_MS. */
  timeoutMs?: number
  signal?: AbortSignal
}

/** Typed calls to the namenode over one long-lived RPC stream. */
export class NamenodeClient {
  readonly address: string
  private readonly peer: RpcPeer

  private constructor (address: string, peer: RpcPeer) {
    this.address = address
    this.peer = peer
  }

  static async connect (init: NamenodeClientInit): Promise<NamenodeClient> {
    const addr = parseMultiaddr(init.address, 'namenode address')
    const timeoutMs = init.timeoutMs ?? CONNECT_TIMEOUT_MS
    const signals = [AbortSignal.timeout(timeoutMs)]
    if (init.signal !== undefined) signals.push(init.signal)
    let stream
    try {
      stream = await init.node.dialProtocol(addr, NAMENODE_PROTOCOL, { signal: AbortSignal.any(signals) })
    } catch (err) {
      throw unreachable(init.address, err, timeoutMs)
    }
    const peer = new RpcPeer(streamChannel(stream, `namenode ${init.address}`), {
      transportError: (message, cause) => new NamenodeUnreachableError(message, {
        cause,
        hint: 'the namenode stopped or the network failed; check cairn report once it is back'
      })
    })
    return new NamenodeClient(init.address, peer)
  }

  async allocate (params: AllocateParams, signal?: AbortSignal): Promise<AllocateResult> {
    return await this.peer.request('nn.allocate', params, opts(signal))
  }

  async locate (cids: CID[], signal?: AbortSignal): Promise<LocateResult> {
    return await this.peer.request('nn.locate', { cids }, opts(signal))
  }

  async dagPut (nodes: DagPutParams['nodes'], signal?: AbortSignal, lease?: string): Promise<void> {
    await this.peer.request('nn.dagPut', lease === undefined ? { nodes } : { nodes, lease }, opts(signal))
  }

  async namePut (params: NamePutParams, signal?: AbortSignal): Promise<NameRecord> {
    return await this.peer.request('nn.namePut', params, opts(signal))
  }

  async nameGet (name: string, signal?: AbortSignal): Promise<NameRecord> {
    return await this.peer.request('nn.nameGet', { name }, opts(signal))
  }

  async nameHistory (name: string, limit: number, signal?: AbortSignal): Promise<NameHistoryEntry[]> {
    return (await this.peer.request<{ entries: NameHistoryEntry[] }>('nn.nameHistory', { name, limit }, opts(signal))).entries
  }

  async names (signal?: AbortSignal): Promise<NameRecord[]> {
    return (await this.peer.request<{ names: NameRecord[] }>('nn.names', {}, opts(signal))).names
  }

  /** Any namenode method, for operator commands. */
  async call<T> (method: string, params: unknown, signal?: AbortSignal): Promise<T> {
    return await this.peer.request(method, params, opts(signal))
  }

  async pin (params: PinParams, signal?: AbortSignal): Promise<PinResult> {
    return await this.peer.request('nn.pin', params, opts(signal))
  }

  async pins (signal?: AbortSignal): Promise<PinsResult> {
    return await this.peer.request('nn.pins', {}, opts(signal))
  }

  async unpin (root: CID, signal?: AbortSignal): Promise<void> {
    await this.peer.request('nn.unpin', { root }, opts(signal))
  }

  async stat (cid: CID, signal?: AbortSignal): Promise<StatResult> {
    return await this.peer.request('nn.stat', { cid }, opts(signal))
  }

  async report (signal?: AbortSignal): Promise<ClusterReport> {
    return await this.peer.request('nn.report', {}, opts(signal))
  }

  async badReplica (cid: CID, datanode: string): Promise<void> {
    await this.peer.request('nn.badReplica', { cid, datanode })
  }

  async close (): Promise<void> {
    await this.peer.close().catch(() => {})
  }
}

function opts (signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal }
}

function unreachable (address: string, err: unknown, timeoutMs: number): NamenodeUnreachableError {
  const reason = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError'
    ? `no answer within ${timeoutMs} ms`
    : (err as Error)?.message ?? String(err)
  return new NamenodeUnreachableError(`cannot reach the namenode at ${address}: ${reason}`, {
    cause: err,
    hint: 'is the cluster running? start it with `cairn up`; if it is, check the namenode address and that this machine has the cluster key'
  })
}
