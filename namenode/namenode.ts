import path from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import {
  DEAD_AFTER_MS, DEFAULT_NAMENODE_PORT, HEARTBEAT_INTERVAL_MS, NAMENODE_PROTOCOL, RpcPeer, STALE_AFTER_MS,
  createCairnNode, createLogger, decodeIdentity, dialableAddress, encodeIdentity, lockDataDir, newIdentity,
  streamChannel
} from '../core/index.ts'
import type { DirLock, Logger } from '../core/index.ts'
import { adminHandlers } from './admin-handlers.ts'
import { BlockTable } from './block-table.ts'
import { Leases } from './leases.ts'
import { ReplicationMonitor } from './replication.ts'
import type { ReplicationInit } from './replication.ts'
import { SafeMode } from './safe-mode.ts'
import type { SafeModeInit } from './safe-mode.ts'
import { clientHandlers } from './client-handlers.ts'
import { DagIndex } from './dag-index.ts'
import { datanodeHandlers } from './datanode-handlers.ts'
import { loadPins } from './pins.ts'
import { WantRecount, advanceRecount } from './want-recount.ts'
import { nameHandlers } from './name-handlers.ts'
import { NameRegistry } from './names.ts'
import { DatanodeRegistry } from './registry.ts'
import type { NamenodeState } from './state.ts'
import { MetadataStore } from './store.ts'

/** Wants are recounted from scratch at most this often (and before every gc). */
const WANT_RECOUNT_MS = 30_000
/**
 * A recount walks every pin's and name's DAG (seconds at millions of
 * blocks, in slices): it waits at least this many times as long as the
 * last one took, so it never takes more than about 1% of the namenode's
 * time. Wants only stay high meanwhile.
 */
const RECOUNT_COST_FACTOR = 100

/** Blocks a recount of wants walks per round (about 0.8 µs each here: some 20 ms); rounds follow closely meanwhile. */
const RECOUNT_SLICE_BLOCKS = 25_000

/** Copies that finish within this window share one early round; a sweep's slices come this far apart. */
const NUDGE_DELAY_MS = 20

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
  /** How often the replication monitor runs. Default 1 s. */
  monitorIntervalMs?: number
  /** See ReplicationInit. */
  replication?: ReplicationInit
  /** See SafeModeInit. */
  safeMode?: SafeModeInit
  /** gc keeps unpinned blocks first seen less than this ago. Default 10 min. */
  gcGraceMs?: number
  /** Values kept in each name's history (they stay pinned). Default 100. */
  nameHistory?: number
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
  private monitorRef: ReplicationMonitor | undefined
  private safeModeRef: SafeMode | undefined
  private timer: NodeJS.Timeout | undefined

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
      blocks: new BlockTable({ clock }),
      dag,
      pins: new Map(),
      clock,
      log: this.log,
      nameRoots: () => names.roots(),
      wantsStale: false
    }
    const names = new NameRegistry(state, this.init.nameHistory ?? 100)
    names.load()
    loadPins(state)
    this.stateRef = state
    const monitor = new ReplicationMonitor(state, this.init.replication)
    const safeMode = new SafeMode(this.init.safeMode)
    const leases = new Leases(clock)
    this.monitorRef = monitor
    this.safeModeRef = safeMode
    monitor.onNudge = () => { this.nudge() }

    const handlers = {
      ...datanodeHandlers(state, { heartbeatIntervalMs: this.init.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS, monitor, leases }),
      ...clientHandlers(state, { monitor, leases, safeMode }),
      ...adminHandlers({ state, monitor, safeMode, leases, graceMs: this.init.gcGraceMs ?? 10 * 60_000 }),
      ...nameHandlers(names, monitor, leases)
    }
    await node.handle(NAMENODE_PROTOCOL, (stream, connection) => {
      const peer = new RpcPeer(streamChannel(stream, `peer ${connection.remotePeer.toString()}`), {
        handlers,
        onClose: () => { this.peers.delete(peer) },
        onHandlerError: (method, err) => { this.log.error(`${method} failed`, err) }
      })
      this.peers.add(peer)
    }, { maxInboundStreams: 4096 })
    this.log.info(`namenode ${state.id} listening on ${this.address}; ${state.pins.size} pins, ${dag.size} indexed DAG nodes; in safe mode until the datanodes report`)
    this.timer = setInterval(() => { this.monitorRound() }, this.init.monitorIntervalMs ?? 1_000)
  }

  get monitor (): ReplicationMonitor {
    if (this.monitorRef === undefined) throw new Error('namenode is not started')
    return this.monitorRef
  }

  private nudged: NodeJS.Timeout | undefined

  /** An early round soon (coalesced): datanodes have just freed transfer slots. */
  private nudge (): void {
    if (this.nudged !== undefined) return
    this.nudged = setTimeout(() => {
      this.nudged = undefined
      this.monitorRound()
    }, NUDGE_DELAY_MS)
  }

  private lastRecountMs = 0
  private recountGapMs = WANT_RECOUNT_MS
  /** Time the recount under way has taken so far, over its slices. */
  private recountCostMs = 0

  private monitorRound (): void {
    const safeMode = this.safeModeRef as SafeMode
    try {
      // wants only rise between recounts; let go of what pins and names no longer need now and then
      const now = this.state.clock()
      if (this.state.recount === undefined && this.state.wantsStale && now - this.lastRecountMs >= this.recountGapMs) {
        this.state.recount = new WantRecount(this.state)
        this.recountCostMs = 0
      }
      if (this.state.recount !== undefined) {
        const started = performance.now()
        const done = advanceRecount(this.state, RECOUNT_SLICE_BLOCKS)
        if (done) this.monitor.rescan()
        this.recountCostMs += performance.now() - started
        if (done) {
          this.lastRecountMs = now
          this.recountGapMs = Math.max(WANT_RECOUNT_MS, RECOUNT_COST_FACTOR * this.recountCostMs)
        } else {
          this.nudge()
        }
      }
      this.monitor.tick(!safeMode.active)
      // only counts that follow a whole sweep: until then blocks not yet looked at would be left out
      if (this.monitor.settled && safeMode.update(this.monitor.counts, this.state.clock())) {
        this.log.info(`leaving safe mode: ${safeMode.status().reason}`)
        this.monitor.rescan()
      }
    } catch (err) {
      this.log.error('replication monitor round failed', err)
    }
  }

  async stop (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.nudged !== undefined) clearTimeout(this.nudged)
    for (const peer of this.peers) peer.abort(new Error('namenode stopping'))
    await this.node?.stop()
    this.store?.close()
    await this.lock?.release()
  }
}
