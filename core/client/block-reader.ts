import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { LOCATION_CACHE_ENTRIES, MAX_CIDS_PER_MESSAGE } from '../constants.ts'
import {
  AbortedError, BlockCorruptError, BlockNotFoundError, CairnError, DatanodeUnreachableError, NotFoundError
} from '../errors.ts'
import { blockKey } from '../content/cid.ts'
import type { BlockGetter } from '../content/read-file.ts'
import { hashMatches, isIdentity } from '../content/verify.ts'
import type { DatanodeAddress } from '../protocol/messages.ts'
import type { DatanodePool } from './datanode-pool.ts'
import { shortId } from './datanode-pool.ts'
import type { NamenodeClient } from './namenode-client.ts'

/** Small blocks (DAG nodes) kept after a read: path walks and file reads fetch the same root twice. */
const NODE_CACHE_ENTRIES = 512
/** Bytes of just-written small blocks kept to serve reads back, and the largest block kept. */
const WRITTEN_CACHE_BYTES = 8 * 1024 * 1024
const WRITTEN_CACHE_MAX_BLOCK_BYTES = 64 * 1024
const NODE_CACHE_MAX_BLOCK_BYTES = 64 * 1024

export interface BlockReaderInit {
  namenode: NamenodeClient
  pool: DatanodePool
  /** Told about every replica that failed, for the user's benefit. */
  onReplicaError?: (cid: CID, datanode: string, err: Error) => void
}

/**
 * Fetches blocks from whichever datanode holds a copy, verifying every one.
 * Locations come from the namenode in batches (a `hint` for 1,024 children
 * is one round trip). Reads spread over the copies by block, and fail over
 * to the next copy when a datanode is down or returns bad bytes, which are
 * reported to the namenode and never returned.
 */
export class BlockReader implements BlockGetter {
  private readonly init: BlockReaderInit
  private readonly locations = new Map<string, DatanodeAddress[]>()
  /** Blocks the namenode has never heard of (as opposed to: every copy is down). */
  private readonly unknown = new Set<string>()
  private readonly nodes = new Map<string, Uint8Array>()
  /** Small blocks this client wrote, oldest first (see `learn`). */
  private readonly written = new Map<string, Uint8Array>()
  private writtenBytes = 0
  private readonly queued = new Map<string, CID>()
  private readonly waiting = new Map<string, Array<{ resolve: () => void, reject: (err: Error) => void }>>()
  private flushScheduled = false

  constructor (init: BlockReaderInit) {
    this.init = init
  }

  hint (cids: CID[]): void {
    for (const cid of cids) {
      const key = blockKey(cid)
      if (!isIdentity(cid) && !this.locations.has(key) && !this.waiting.has(key)) this.queued.set(key, cid)
    }
    this.scheduleFlush()
  }

  /**
   * Blocks this client just stored, and where: reading them back asks no
   * namenode, and a small one (a mount's small file) is served from memory
   * for a while, as a local disk's cache serves what was just written.
   */
  learn (blocks: Array<{ cid: CID, bytes: Uint8Array }>, holders: DatanodeAddress[]): void {
    if (holders.length === 0) return
    for (const { cid, bytes } of blocks) {
      const key = blockKey(cid)
      this.rememberLocation(key, holders)
      if (bytes.byteLength > WRITTEN_CACHE_MAX_BLOCK_BYTES) continue
      // the same block written again (the same small file twice) moves to the newest end, counted once
      this.forgetWritten(key)
      this.written.set(key, bytes)
      this.writtenBytes += bytes.byteLength
      for (const oldest of this.written.keys()) {
        if (this.writtenBytes <= WRITTEN_CACHE_BYTES) break
        this.forgetWritten(oldest)
      }
    }
  }

  private forgetWritten (key: string): void {
    const bytes = this.written.get(key)
    if (bytes === undefined) return
    this.written.delete(key)
    this.writtenBytes -= bytes.byteLength
  }

  async get (cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    // identity CIDs carry their bytes
    if (isIdentity(cid)) return cid.multihash.digest
    const key = blockKey(cid)
    const cached = this.nodes.get(key)
    if (cached !== undefined) return cached
    const written = this.written.get(key)
    // checked like a fetched block: the bytes are the writer's buffer, which nothing may have reused
    if (written !== undefined) {
      if (hashMatches(cid, written)) return written
      this.forgetWritten(key)
    }

    let holders = await this.locate(cid, key)
    const failures: string[] = []
    let refreshed = false
    while (true) {
      const tried = new Set<string>()
      // spread reads over the copies: each block starts at a different one
      const start = holders.length === 0 ? 0 : spread(key) % holders.length
      for (let i = 0; i < holders.length; i++) {
        const dn = holders[(start + i) % holders.length] as DatanodeAddress
        tried.add(dn.id)
        try {
          const bytes = await this.fetchFrom(dn, cid, options.signal)
          if (bytes.byteLength <= NODE_CACHE_MAX_BLOCK_BYTES && cid.code !== raw.code) this.remember(key, bytes)
          return bytes
        } catch (err) {
          if (options.signal?.aborted === true) throw new AbortedError('read cancelled')
          failures.push(`${shortId(dn.id)}: ${(err as Error).message}`)
          this.init.onReplicaError?.(cid, dn.id, err as Error)
        }
      }
      // the cached locations may be stale (a datanode came back, a copy moved): ask once more
      if (refreshed) break
      refreshed = true
      this.locations.delete(key)
      holders = (await this.locate(cid, key)).filter((dn) => !tried.has(dn.id))
      if (holders.length === 0) break
    }
    if (failures.length === 0 && this.unknown.has(key)) {
      throw new NotFoundError(`${cid.toString()} is not stored in this cluster`, {
        hint: 'check the CID; cairn pin ls lists what this cluster keeps'
      })
    }
    if (failures.length === 0) {
      throw new BlockNotFoundError(`no live datanode holds block ${cid}`, {
        hint: 'its copies are on datanodes that are down, or were found corrupt; cairn fsck lists such blocks and cairn report the datanodes'
      })
    }
    throw new BlockNotFoundError(`could not read block ${cid} from any copy (${failures.join('; ')})`, {
      hint: 'check cairn report for dead datanodes'
    })
  }

  private async fetchFrom (dn: DatanodeAddress, cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    const peer = await this.init.pool.peer(dn, signal)
    const result = await peer.call('block.get', { cid }, signal === undefined ? {} : { signal })
    const bytes = result.body ?? new Uint8Array(0)
    if (!hashMatches(cid, bytes)) {
      // never believed, and the namenode stops counting that copy
      this.init.namenode.badReplica(cid, dn.id).catch(() => {})
      throw new BlockCorruptError(`datanode ${shortId(dn.id)} returned bytes that do not match ${cid}`)
    }
    return bytes
  }

  private async locate (cid: CID, key: string): Promise<DatanodeAddress[]> {
    const known = this.locations.get(key)
    if (known !== undefined) return known
    if (!this.queued.has(key) && !this.waiting.has(key)) this.queued.set(key, cid)
    await new Promise<void>((resolve, reject) => {
      const list = this.waiting.get(key) ?? []
      list.push({ resolve, reject })
      this.waiting.set(key, list)
      this.scheduleFlush()
    })
    return this.locations.get(key) ?? []
  }

  private scheduleFlush (): void {
    if (this.flushScheduled || this.queued.size === 0) return
    this.flushScheduled = true
    // gather every request made in this tick into one locate
    queueMicrotask(() => {
      this.flushScheduled = false
      void this.flush()
    })
  }

  private async flush (): Promise<void> {
    const batch = [...this.queued.entries()].slice(0, MAX_CIDS_PER_MESSAGE)
    for (const [key] of batch) {
      this.queued.delete(key)
      // a read of a hinted block while its locate is on the wire waits for it instead of asking again
      if (!this.waiting.has(key)) this.waiting.set(key, [])
    }
    if (this.queued.size > 0) this.scheduleFlush()
    if (batch.length === 0) return
    try {
      const result = await this.init.namenode.locate(batch.map(([, cid]) => cid))
      batch.forEach(([key], i) => {
        const where = result.where[i] ?? []
        this.rememberLocation(key, where.map((at) => result.datanodes[at]).filter((d): d is DatanodeAddress => d !== undefined))
        if (result.known?.[i] === false) this.unknown.add(key)
        else this.unknown.delete(key)
        this.release(key)
      })
    } catch (err) {
      for (const [key] of batch) this.release(key, err instanceof CairnError ? err : new DatanodeUnreachableError((err as Error).message))
    }
  }

  private release (key: string, err?: Error): void {
    const list = this.waiting.get(key)
    if (list === undefined) return
    this.waiting.delete(key)
    for (const waiter of list) {
      if (err === undefined) waiter.resolve()
      else waiter.reject(err)
    }
  }

  private rememberLocation (key: string, holders: DatanodeAddress[]): void {
    if (this.locations.size >= LOCATION_CACHE_ENTRIES) {
      const oldest = this.locations.keys().next().value
      if (oldest !== undefined) this.locations.delete(oldest)
    }
    this.locations.set(key, holders)
  }

  private remember (key: string, bytes: Uint8Array): void {
    if (this.nodes.size >= NODE_CACHE_ENTRIES) {
      const oldest = this.nodes.keys().next().value
      if (oldest !== undefined) this.nodes.delete(oldest)
    }
    this.nodes.set(key, bytes)
  }
}

function spread (key: string): number {
  // the key is base64 of a hash: its last characters are already uniform
  return key.charCodeAt(key.length - 1) + 7 * key.charCodeAt(key.length - 2)
}
