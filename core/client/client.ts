import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { ImportCandidateStream } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import type { ContentPath } from '../content/cid.ts'
import { createCairnNode } from '../net/libp2p.ts'
import { deriveDataKey } from '../net/data-channel.ts'
import type { ClusterReport, PinInfo, PinResult } from '../protocol/messages.ts'
import { BlockReader } from './block-reader.ts'
import { cat } from './cat.ts'
import type { CatOptions } from './cat.ts'
import type { ClientContext } from './context.ts'
import { DatanodePool } from './datanode-pool.ts'
import { get } from './get.ts'
import type { GetOptions, GetResult } from './get.ts'
import { ls } from './ls.ts'
import type { ListedEntry, LsOptions } from './ls.ts'
import { NamenodeClient } from './namenode-client.ts'
import { publish, resolvePath } from './names.ts'
import { resolveCid } from './resolve.ts'
import type { PublishOptions, Published } from './names.ts'
import { put } from './put.ts'
import type { PutOptions, PutResult } from './put.ts'
import { stat } from './stat.ts'
import type { StatInfo } from './stat.ts'

export interface ClientInit {
  /** The namenode's multiaddr with /p2p/<id>. */
  namenode: string
  /** The cluster key file's bytes. */
  clusterKey: Uint8Array
  /** Move blocks over the TLS data channel where offered. Default true. */
  preferDataChannel?: boolean
  /** Connect deadline. Default CONNECT_TIMEOUT_MS. */
  timeoutMs?: number
  signal?: AbortSignal
  /** Told about replicas that failed a read (the read went on with another copy). */
  onReplicaError?: (cid: CID, datanode: string, err: Error) => void
}

/** The one client library the CLI, FUSE and the gateway use. */
export class CairnClient {
  private readonly node: Libp2p
  private readonly ctx: ClientContext

  private constructor (node: Libp2p, ctx: ClientContext) {
    this.node = node
    this.ctx = ctx
  }

  static async connect (init: ClientInit): Promise<CairnClient> {
    const node = await createCairnNode({ clusterKey: init.clusterKey })
    try {
      const namenode = await NamenodeClient.connect({
        node,
        address: init.namenode,
        ...(init.timeoutMs === undefined ? {} : { timeoutMs: init.timeoutMs }),
        ...(init.signal === undefined ? {} : { signal: init.signal })
      })
      const pool = new DatanodePool({
        node,
        dataKey: deriveDataKey(init.clusterKey),
        ...(init.preferDataChannel === undefined ? {} : { preferDataChannel: init.preferDataChannel })
      })
      const reader = new BlockReader({ namenode, pool, ...(init.onReplicaError === undefined ? {} : { onReplicaError: init.onReplicaError }) })
      return new CairnClient(node, { namenode, pool, reader })
    } catch (err) {
      await node.stop()
      throw err
    }
  }

  get namenode (): NamenodeClient {
    return this.ctx.namenode
  }

  get reader (): BlockReader {
    return this.ctx.reader
  }

  async put (source: ImportCandidateStream, options?: PutOptions): Promise<PutResult> {
    return await put(this.ctx, source, options)
  }

  async get (path: ContentPath, out: string, options?: GetOptions): Promise<GetResult> {
    return await get(this.ctx, path, out, options)
  }

  cat (path: ContentPath, options?: CatOptions): AsyncGenerator<Uint8Array> {
    return cat(this.ctx, path, options)
  }

  async ls (path: ContentPath, options?: LsOptions): Promise<ListedEntry[]> {
    return await ls(this.ctx, path, options)
  }

  async stat (path: ContentPath, signal?: AbortSignal): Promise<StatInfo> {
    return await stat(this.ctx, path, signal)
  }

  /** The CID of the entry a path names (the root itself when there is no path below it). */
  async cidOf (path: ContentPath, signal?: AbortSignal): Promise<CID> {
    return await resolveCid(this.ctx, path, signal)
  }

  /** Any path a user gives (CID, /ipfs/, /ipns/ with names pointing to names, @sequence) as a CID and segments. */
  async resolve (text: string, signal?: AbortSignal): Promise<ContentPath> {
    return await resolvePath(this.ctx, text, signal)
  }

  /** Signs and stores a record pointing `key`'s name at `options.value`. */
  async publish (key: PrivateKey, options: PublishOptions): Promise<Published> {
    return await publish(this.ctx, key, options)
  }

  get context (): ClientContext {
    return this.ctx
  }

  async pins (signal?: AbortSignal): Promise<PinInfo[]> {
    return (await this.ctx.namenode.pins(signal)).pins
  }

  /** The pin whose root is `root` (either CID version), if any: one lookup, however many pins there are. */
  async pinOf (root: CID, signal?: AbortSignal): Promise<PinInfo | undefined> {
    return (await this.ctx.namenode.pins(signal, root)).pins[0]
  }

  /**
   * Pins what a path names, which the cluster must already hold whole (a
   * put, an import, a name's tree), at `replication` copies. Pinning a
   * pinned root again sets its replication, up or down (HDFS's setrep).
   */
  async pin (root: CID, options: { replication: number, label?: string, signal?: AbortSignal }): Promise<PinResult> {
    return await this.ctx.namenode.pin({
      root,
      replication: options.replication,
      ...(options.label === undefined ? {} : { label: options.label })
    }, options.signal)
  }

  async unpin (root: CID, signal?: AbortSignal): Promise<void> {
    await this.ctx.namenode.unpin(root, signal)
  }

  async report (signal?: AbortSignal): Promise<ClusterReport> {
    return await this.ctx.namenode.report(signal)
  }

  async close (): Promise<void> {
    await this.ctx.pool.close()
    await this.ctx.namenode.close()
    await this.node.stop()
  }
}
