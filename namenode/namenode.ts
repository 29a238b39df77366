import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import {
  DEAD_AFTER_MS, DEFAULT_NAMENODE_PORT, HEARTBEAT_INTERVAL_MS, NAMENODE_PROTOCOL, RpcPeer, STALE_AFTER_MS,
  createCairnNode, createLogger, decodeIdentity, dialableAddress, encodeIdentity, lockDataDir, newIdentity,
  streamChannel
} from '../core/index.ts'
import type { DirLock, Logger } from '../core/index.ts'
import { BlockMap } from './block-map.ts'
import { clientHandlers } from './client-handlers.ts'
import { DagIndex } from './dag-index.ts'
import { datanodeHandlers } from './datanode-handlers.ts'
import { loadPins } from './pins.ts'
import { DatanodeRegistry } from './registry.ts'
import type { NamenodeState } from './state.ts'
import { MetadataStore } from './store.ts'

export interface NamenodeInit {
  /** Holds the metadata database and the lock. */
  dataDir: string
  /** The cluster key file's bytes. */
  clusterKey: Uint8Array
  /** Default [`/ip4/127.0.0.1/tcp/${DEFAULT_NAMENODE_PORT}`]. */
  listen?: string[]
  /** Told to datanodes. Default HEARTBEAT_INTERVAL_MS. */
  heartbeatIntervalMs?: number
  /** Default STALE_AFTER_MS. */
  staleAfterMs?: number
  /** Default DEAD_AFTER_MS. */
  deadAfterMs?: number
  /** Default Date.now; tests pass a fake. */
  clock?: () => number
  log?: Logger
}

/**
 * The metadata authority: datanode registry, block map, DAG index and pins.
 * Pins, the DAG index and the namenode's identity are durable (SQLite, WAL,
 * synchronous commits); the block map is rebuilt from block reports.
 */
export class Namenode {
  private readonly init: NamenodeInit
  private readonly log: Logger
  private lock: DirLock | undefined
  private node: Libp2p | undefined
  private store: MetadataStore | undefined
  private readonly peers = new Set<RpcPeer>()
  private stateRef: NamenodeState | undefined

  constructor (init: NamenodeInit) {
    this.init = init
    this.log = init.log ?? createLogger('namenode')
  }

  get state (): NamenodeState {
    if (this.stateRef === undefined) throw new Error('namenode is not started')
    return this.stateRef
  }

  /** The address clients and datanodes dial, with /p2p/<id>. */
  get address (): string {
    if (this.node === undefined) throw new Error('namenode is not started')
    return dialableAddress(this.node)
  }

  async start (): Promise<void> {
    const dir = path.resolve(this.init.dataDir)
    await mkdir(dir, { recursive: true })
    this.lock = await lockDataDir(dir, 'namenode')
    const store = new MetadataStore(dir)
    this.store = store
    const clock = this.init.clock ?? Date.now
    let identity = store.getMeta('identity')
    if (identity === undefined) {
      identity = encodeIdentity(await newIdentity())
      store.setMeta('identity', identity)
    }

    this.node = await createCairnNode({
      privateKey: decodeIdentity(identity),
      listen: this.init.listen ?? [`/ip4/127.0.0.1/tcp/${DEFAULT_NAMENODE_PORT}`],
      clusterKey: this.init.clusterKey
    })
    const node = this.node
    const registry = new DatanodeRegistry(clock, {
      staleAfterMs: this.init.staleAfterMs ?? STALE_AFTER_MS,
      deadAfterMs: this.init.deadAfterMs ?? DEAD_AFTER_MS
    })
    registry.load(store.datanodes())
    const dag = new DagIndex()
    for (const { key, links } of store.dagNodes()) dag.set(key, links)

    const state: NamenodeState = {
      id: node.peerId.toString(),
      addrs: () => node.getMultiaddrs().map((a) => a.toString()),
      startedMs: clock(),
      store,
      registry,
      blocks: new BlockMap(),
      dag,
      pins: new Map(),
      clock,
      log: this.log
    }
    loadPins(state)
    this.stateRef = state

    const handlers = {
      ...datanodeHandlers(state, { heartbeatIntervalMs: this.init.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS }),
      ...clientHandlers(state)
    }
    await node.handle(NAMENODE_PROTOCOL, (stream, connection) => {
      const peer = new RpcPeer(streamChannel(stream, `peer ${connection.remotePeer.toString()}`), {
        handlers,
        onClose: () => { this.peers.delete(peer) },
        onHandlerError: (method, err) => { this.log.error(`${method} failed`, err) }
      })
      this.peers.add(peer)
    }, { maxInboundStreams: 4096 })
    this.log.info(`namenode ${state.id} listening on ${this.address}; ${state.pins.size} pins, ${dag.size} indexed DAG nodes`)
  }

  async stop (): Promise<void> {
    for (const peer of this.peers) peer.abort(new Error('namenode stopping'))
    await this.node?.stop()
    this.store?.close()
    await this.lock?.release()
  }
}
