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

/**
 * Typed calls to the namenode over one long-lived RPC stream. When the
 * stream has closed (the namenode restarted, or the network failed), the
 * next call dials again, so long-lived clients (a mount, the gateway)
 * recover once the namenode is back. Calls in flight when it closed fail
 * and are not retried here: not every call may safely run twice.
 */
export class NamenodeClient {
  readonly address: string
  private readonly init: NamenodeClientInit
  private peer: RpcPeer
  private redialing: Promise<RpcPeer> | undefined
  private closing = false

  private constructor (init: NamenodeClientInit, peer: RpcPeer) {
    this.address = init.address
    this.init = init
    this.peer = peer
  }

  static async connect (init: NamenodeClientInit): Promise<NamenodeClient> {
    return new NamenodeClient(init, await dial(init, init.signal))
  }

  /** The open RPC stream, dialled again (once, whoever asks) if the last one closed. */
  private async rpc (): Promise<RpcPeer> {
    if (!this.peer.closed || this.closing) return this.peer
    // not tied to one caller's signal: the dial serves every caller waiting on it, and has its own timeout
    this.redialing ??= dial(this.init, undefined)
      .then((peer) => { this.peer = peer; return peer })
      .finally(() => { this.redialing = undefined })
    return await this.redialing
  }

  private async request<T> (method: string, params: unknown, signal?: AbortSignal): Promise<T> {
    return await (await this.rpc()).request<T>(method, params, opts(signal))
  }

  async allocate (params: AllocateParams, signal?: AbortSignal): Promise<AllocateResult> {
    return await this.request('nn.allocate', params, signal)
  }

  async locate (cids: CID[], signal?: AbortSignal): Promise<LocateResult> {
    return await this.request('nn.locate', { cids }, signal)
  }

  async dagPut (nodes: DagPutParams['nodes'], signal?: AbortSignal, lease?: string): Promise<void> {
    await this.request('nn.dagPut', lease === undefined ? { nodes } : { nodes, lease }, signal)
  }

  async namePut (params: NamePutParams, signal?: AbortSignal): Promise<NameRecord> {
    return await this.request('nn.namePut', params, signal)
  }

  async nameGet (name: string, signal?: AbortSignal): Promise<NameRecord> {
    return await this.request('nn.nameGet', { name }, signal)
  }

  async nameHistory (name: string, limit: number, signal?: AbortSignal): Promise<NameHistoryEntry[]> {
    return (await this.request<{ entries: NameHistoryEntry[] }>('nn.nameHistory', { name, limit }, signal)).entries
  }

  async names (signal?: AbortSignal): Promise<NameRecord[]> {
    return (await this.request<{ names: NameRecord[] }>('nn.names', {}, signal)).names
  }

  /** Any namenode method, for operator commands. */
  async call<T> (method: string, params: unknown, signal?: AbortSignal): Promise<T> {
    return await this.request(method, params, signal)
  }

  async pin (params: PinParams, signal?: AbortSignal): Promise<PinResult> {
    return await this.request('nn.pin', params, signal)
  }

  /** Every pin, or (`root`) just that one, if pinned. */
  async pins (signal?: AbortSignal, root?: CID): Promise<PinsResult> {
    return await this.request('nn.pins', root === undefined ? {} : { root }, signal)
  }

  async unpin (root: CID, signal?: AbortSignal): Promise<void> {
    await this.request('nn.unpin', { root }, signal)
  }

  async stat (cid: CID, signal?: AbortSignal): Promise<StatResult> {
    return await this.request('nn.stat', { cid }, signal)
  }

  async report (signal?: AbortSignal): Promise<ClusterReport> {
    return await this.request('nn.report', {}, signal)
  }

  async badReplica (cid: CID, datanode: string): Promise<void> {
    await this.request('nn.badReplica', { cid, datanode })
  }

  async close (): Promise<void> {
    this.closing = true
    await this.redialing?.catch(() => {})
    await this.peer.close().catch(() => {})
  }
}

async function dial (init: NamenodeClientInit, signal: AbortSignal | undefined): Promise<RpcPeer> {
  const addr = parseMultiaddr(init.address, 'namenode address')
  const timeoutMs = init.timeoutMs ?? CONNECT_TIMEOUT_MS
  const signals = [AbortSignal.timeout(timeoutMs)]
  if (signal !== undefined) signals.push(signal)
  let stream
  try {
    stream = await init.node.dialProtocol(addr, NAMENODE_PROTOCOL, { signal: AbortSignal.any(signals) })
  } catch (err) {
    throw unreachable(init.address, err, timeoutMs)
  }
  return new RpcPeer(streamChannel(stream, `namenode ${init.address}`), {
    transportError: (message, cause) => new NamenodeUnreachableError(message, {
      cause,
      hint: 'the namenode stopped or the network failed; check cairn report once it is back'
    })
  })
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
