import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import {
  BLOCK_PROTOCOL, BufferPool, DATANODE_IO_CONCURRENCY, DatanodePool, MAX_FRAME_BYTES, DATANODE_RESERVED_BYTES, HEARTBEAT_INTERVAL_MS, RpcPeer, Semaphore,
  VERSION, createCairnNode, createLogger, decodeIdentity, deriveDataKey, encodeIdentity, listenData, lockDataDir,
  newIdentity, streamChannel
} from '../core/index.ts'
import type { Channel, DatanodeAddress, DataListener, DirLock, Logger } from '../core/index.ts'
import type { CID } from 'multiformats/cid'
import { BlockStore } from './block-store.ts'
import { CommandRunner } from './commands.ts'
import { BlockScanner } from './scanner.ts'
import { blockSessionHandlers } from './block-service.ts'
import type { BlockServiceEvents } from './block-service.ts'
import { NamenodeLink } from './namenode-link.ts'

export interface DatanodeInit {
  /** Holds the identity, the lock and the blocks. */
  dataDir: string
  /** The namenode's multiaddr with /p2p/<id>. */
  namenode: string
  /** The cluster key file's bytes. */
  clusterKey: Uint8Array
  /** libp2p listen addresses. Default ['/ip4/127.0.0.1/tcp/0']. */
  listen?: string[]
  /** Host the TLS data channel binds and advertises. Default '127.0.0.1'. */
  dataHost?: string
  /** Port of the data channel; 0 picks a free one. Default 0. */
  dataPort?: number
  /** Failure-domain label. Default none. */
  rack?: string
  /** Disk bytes kept free. Default DATANODE_RESERVED_BYTES. */
  reservedBytes?: number
  /** Default HEARTBEAT_INTERVAL_MS. */
  heartbeatIntervalMs?: number
  /** Bytes per second the block scanner re-verifies; 0 turns it off. Default 8 MiB/s. */
  scanBytesPerSec?: number
  /** Rest between full scanner passes. Default 60 s. */
  scanRestMs?: number
  /** gc keeps blocks written or sent again this recently. Default 15 min. */
  gcGraceMs?: number
  log?: Logger
}

/**
 * A datanode: stores verified blocks on local disk and serves them over the
 * block protocol, on libp2p and on the TLS data channel, while keeping the
 * namenode informed.
 */
export class Datanode {
  private readonly init: DatanodeInit
  private readonly log: Logger
  private readonly io = new Semaphore(DATANODE_IO_CONCURRENCY)
  /** Incoming blocks land in reused buffers: the block service never keeps a body past its handler. */
  private readonly frames = new BufferPool([1024 * 1024 + 64 * 1024, MAX_FRAME_BYTES], 64)
  private lock: DirLock | undefined
  private node: Libp2p | undefined
  private data: DataListener | undefined
  private link: NamenodeLink | undefined
  private storeRef: BlockStore | undefined
  private runner: CommandRunner | undefined
  private scannerRef: BlockScanner | undefined
  private pool: DatanodePool | undefined
  private readonly sessions = new Set<RpcPeer>()

  constructor (init: DatanodeInit) {
    this.init = init
    this.log = init.log ?? createLogger('datanode')
  }

  get store (): BlockStore {
    if (this.storeRef === undefined) throw new Error('datanode is not started')
    return this.storeRef
  }

  get id (): string {
    if (this.node === undefined) throw new Error('datanode is not started')
    return this.node.peerId.toString()
  }

  get address (): DatanodeAddress {
    if (this.node === undefined || this.data === undefined) throw new Error('datanode is not started')
    return {
      id: this.id,
      addrs: this.node.getMultiaddrs().map((a) => a.toString()),
      data: { host: this.data.host, port: this.data.port }
    }
  }

  async start (): Promise<void> {
    const dir = path.resolve(this.init.dataDir)
    this.lock = await lockDataDir(dir, 'datanode')
    const store = new BlockStore({
      path: path.join(dir, 'blocks'),
      reservedBytes: this.init.reservedBytes ?? DATANODE_RESERVED_BYTES,
      directWriteSlots: DATANODE_IO_CONCURRENCY
    })
    await store.open()
    if (!store.directWrites) this.log.info(`${store.path} has no O_DIRECT: blocks are written through the page cache`)
    this.storeRef = store

    this.node = await createCairnNode({
      privateKey: await loadIdentity(path.join(dir, 'identity.key')),
      listen: this.init.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      clusterKey: this.init.clusterKey
    })
    await this.node.handle(BLOCK_PROTOCOL, (stream) => {
      this.serve(streamChannel(stream, `peer ${stream.id}`))
    }, { maxInboundStreams: 1024, maxOutboundStreams: 1024 })

    this.data = await listenData({
      host: this.init.dataHost ?? '127.0.0.1',
      port: this.init.dataPort ?? 0,
      key: deriveDataKey(this.init.clusterKey),
      onChannel: (channel) => { this.serve(channel) }
    })

    this.pool = new DatanodePool({ node: this.node, dataKey: deriveDataKey(this.init.clusterKey) })
    const report = {
      received: async (blocks: Array<{ cid: CID, size: number }>) => { await this.link?.received(blocks) },
      deleted: async (cids: CID[]) => { await this.link?.deleted(cids) },
      corrupt: async (cid: CID) => { await this.link?.corrupt(cid) }
    }
    let polling = false
    this.runner = new CommandRunner({
      store,
      pool: this.pool,
      report,
      gcGraceMs: this.init.gcGraceMs ?? 15 * 60_000,
      // one poll at a time: copies finishing together ask once
      onRoom: () => {
        if (polling) return
        polling = true
        this.link?.poll().catch(() => {}).finally(() => { polling = false })
      },
      log: this.log
    })
    this.scannerRef = new BlockScanner({
      store,
      bytesPerSec: this.init.scanBytesPerSec ?? 8 * 1024 * 1024,
      ...(this.init.scanRestMs === undefined ? {} : { restMs: this.init.scanRestMs }),
      onCorrupt: (cid) => { report.corrupt(cid).catch((err: unknown) => { this.log.warn(`could not report corrupt block ${cid}: ${(err as Error).message}`) }) },
      log: this.log
    })

    this.link = new NamenodeLink({
      node: this.node,
      namenode: this.init.namenode,
      heartbeatIntervalMs: this.init.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS,
      registration: async () => {
        const registration = { datanode: this.address, version: VERSION, ...(await store.usage()) }
        return this.init.rack === undefined ? registration : { ...registration, rack: this.init.rack }
      },
      heartbeat: async () => ({ id: this.id, activeTransfers: this.runner?.active ?? 0, ...(await store.usage()) }),
      blocks: () => store.list(),
      onCommands: (commands) => { this.runner?.run(commands) },
      log: this.log
    })
    this.link.start()
    this.scannerRef.start()
    this.log.info(`datanode ${this.id} serving ${store.size} blocks from ${store.path}; data channel ${this.data.host}:${this.data.port}`)
  }

  /** Waits until the namenode has this datanode's registration and block report. */
  async registered (timeoutMs: number): Promise<void> {
    await this.link?.ready(timeoutMs)
  }

  get scanner (): BlockScanner | undefined {
    return this.scannerRef
  }

  async stop (): Promise<void> {
    await this.scannerRef?.stop()
    await this.runner?.stop()
    for (const session of this.sessions) session.abort(new Error('datanode stopping'))
    await this.pool?.close()
    await this.link?.stop()
    await this.data?.close()
    await this.node?.stop()
    await this.lock?.release()
  }

  private serve (channel: Channel): void {
    const link = this.link as NamenodeLink
    const events: BlockServiceEvents = {
      received: async (blocks) => { await link.received(blocks) },
      deleted: async (cids) => { await link.deleted(cids) },
      corrupt: (cid) => { link.corrupt(cid).catch((err) => { this.log.warn(`could not report corrupt block ${cid}: ${(err as Error).message}`) }) }
    }
    const session = new RpcPeer(channel, {
      handlers: blockSessionHandlers(this.store, events, this.io, this.log),
      // a put carries a block; this bounds a session's buffered blocks as well as its work
      maxConcurrentHandlers: 32,
      requestBufferPool: this.frames,
      onClose: () => { this.sessions.delete(session) },
      onHandlerError: (method, err) => { this.log.error(`${method} failed`, err) }
    })
    this.sessions.add(session)
  }
}

async function loadIdentity (file: string): Promise<ReturnType<typeof decodeIdentity>> {
  try {
    return decodeIdentity(await readFile(file))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await newIdentity()
  await writeFile(file, encodeIdentity(key), { mode: 0o600, flag: 'wx' })
  return key
}
