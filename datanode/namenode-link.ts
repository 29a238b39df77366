import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import {
  MAX_CIDS_PER_MESSAGE, NAMENODE_PROTOCOL, NamenodeUnreachableError, RpcPeer, parseMultiaddr, streamChannel
} from '../core/index.ts'
import type {
  DatanodeCommand, HeartbeatParams, HeartbeatResult, Logger, RegisterParams, RegisterResult, ReportResult
} from '../core/index.ts'
import type { StoredBlock } from './block-store.ts'

export interface NamenodeLinkInit {
  node: Libp2p
  /** The namenode's multiaddr, with /p2p/<id>. */
  namenode: string
  registration: () => Promise<RegisterParams>
  heartbeat: () => Promise<HeartbeatParams>
  blocks: () => Iterable<StoredBlock>
  heartbeatIntervalMs: number
  onCommands: (commands: DatanodeCommand[]) => void
  log: Logger
}

/** Reconnect delays: quick at first (a namenode restart), then every few seconds. */
const BACKOFF_MS = [250, 500, 1_000, 2_000, 4_000]
/** How long a report waits for the link to come back before failing the write that needs it. */
const REPORT_WAIT_MS = 5_000

/**
 * The datanode's side of the namenode protocol: register, send a full block
 * report, heartbeat, and report blocks as they arrive or go. Reconnects and
 * re-registers by itself after a namenode restart, since the namenode
 * rebuilds its block map from these reports.
 */
export class NamenodeLink {
  private readonly init: NamenodeLinkInit
  private peer: RpcPeer | undefined
  private registered = false
  private stopped = false
  private readonly waiters = new Set<() => void>()
  private wake: (() => void) | undefined
  private loop: Promise<void> | undefined

  constructor (init: NamenodeLinkInit) {
    this.init = init
  }

  start (): void {
    this.loop = this.run()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.wake?.()
    await this.peer?.close().catch(() => {})
    await this.loop
  }

  get connected (): boolean {
    return this.registered && this.peer !== undefined && !this.peer.closed
  }

  /** Resolves once registered and reported, or throws after `timeoutMs`. */
  async ready (timeoutMs: number): Promise<void> {
    if (this.connected) return
    await new Promise<void>((resolve, reject) => {
      const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
      const timer = setTimeout(() => {
        this.waiters.delete(done)
        reject(new NamenodeUnreachableError(`namenode ${this.init.namenode} is not reachable`, {
          hint: 'check that the namenode is running and that the address and cluster key are right'
        }))
      }, timeoutMs)
      this.waiters.add(done)
    })
  }

  /** Incremental block report: these blocks are stored and durable. */
  async received (blocks: Array<{ cid: CID, size: number }>): Promise<void> {
    for (let i = 0; i < blocks.length; i += MAX_CIDS_PER_MESSAGE) {
      const part = blocks.slice(i, i + MAX_CIDS_PER_MESSAGE)
      await this.send('dn.received', { id: this.init.node.peerId.toString(), cids: part.map((b) => b.cid), sizes: part.map((b) => b.size) })
    }
  }

  async deleted (cids: CID[]): Promise<void> {
    for (let i = 0; i < cids.length; i += MAX_CIDS_PER_MESSAGE) {
      await this.send('dn.deleted', { id: this.init.node.peerId.toString(), cids: cids.slice(i, i + MAX_CIDS_PER_MESSAGE) })
    }
  }

  /** Asks for work now (after finishing some), instead of waiting for the next heartbeat. */
  async poll (): Promise<void> {
    if (!this.connected) return
    await this.send('dn.poll', { id: this.init.node.peerId.toString() })
  }

  /** Tells the namenode about a block that failed verification here. */
  async corrupt (cid: CID): Promise<void> {
    await this.send('dn.corrupt', { id: this.init.node.peerId.toString(), cids: [cid] })
  }

  private async send (method: string, params: unknown): Promise<void> {
    if (!this.connected) await this.ready(REPORT_WAIT_MS)
    const result = await (this.peer as RpcPeer).request<ReportResult | null>(method, params)
    // work rides on every reply, so repair does not wait for the next heartbeat
    if (result !== null && Array.isArray(result.commands) && result.commands.length > 0) this.init.onCommands(result.commands)
  }

  private async run (): Promise<void> {
    let failures = 0
    while (!this.stopped) {
      try {
        const peer = await this.connect()
        this.peer = peer
        await this.register(peer)
        failures = 0
        await this.heartbeats(peer)
      } catch (err) {
        if (!this.stopped) {
          const level = failures === 0 ? 'warn' : 'debug'
          this.init.log[level](`namenode link: ${(err as Error).message}`)
        }
      }
      this.registered = false
      this.peer?.abort(new Error('reconnecting'))
      this.peer = undefined
      if (this.stopped) break
      await this.sleep(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] as number)
      failures++
    }
  }

  private async connect (): Promise<RpcPeer> {
    const addr = parseMultiaddr(this.init.namenode, 'namenode address')
    const stream = await this.init.node.dialProtocol(addr, NAMENODE_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    return new RpcPeer(streamChannel(stream, `namenode ${this.init.namenode}`), {
      transportError: (message, cause) => new NamenodeUnreachableError(message, { cause }),
      onClose: () => { this.wake?.() }
    })
  }

  private async register (peer: RpcPeer): Promise<void> {
    const result = await peer.request<RegisterResult>('dn.register', await this.init.registration())
    await this.fullReport(peer)
    this.registered = true
    this.init.log.info(`registered with namenode ${result.namenodeId} and reported ${this.countBlocks()} blocks`)
    for (const waiter of [...this.waiters]) waiter()
  }

  private countBlocks (): number {
    let n = 0
    for (const _ of this.init.blocks()) n++
    return n
  }

  private async fullReport (peer: RpcPeer): Promise<void> {
    const id = this.init.node.peerId.toString()
    let part = 0
    let cids: CID[] = []
    let sizes: number[] = []
    for (const block of this.init.blocks()) {
      cids.push(block.cid)
      sizes.push(block.size)
      if (cids.length === MAX_CIDS_PER_MESSAGE) {
        await peer.request('dn.report', { id, part: part++, last: false, cids, sizes })
        cids = []
        sizes = []
      }
    }
    await peer.request('dn.report', { id, part, last: true, cids, sizes })
  }

  private async heartbeats (peer: RpcPeer): Promise<void> {
    while (!this.stopped && !peer.closed) {
      await this.sleep(this.init.heartbeatIntervalMs)
      if (this.stopped || peer.closed) return
      const result = await peer.request<HeartbeatResult>('dn.heartbeat', await this.init.heartbeat())
      if (result.reregister) {
        this.init.log.info('namenode asked to register again (it restarted)')
        this.registered = false
        await this.register(peer)
      }
      if (result.commands.length > 0) this.init.onCommands(result.commands)
    }
    if (!this.stopped) throw new Error('connection to the namenode closed')
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve() }, ms)
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve() }
    })
  }
}
