import { open, opendir, readFile, rename, rm, stat, statfs, utimes } from 'node:fs/promises'
import path from 'node:path'
import { NextToLast } from 'blockstore-fs/sharding'
import { base32upper } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import {
  BlockCorruptError, BlockNotFoundError, BlockTooLargeError, DiskFullError, LocalFileError, MAX_BLOCK_BYTES,
  blockKey, hashMatches, rawCid, makeDirectories
} from '../core/index.ts'
import { DirectWriter } from './direct-writer.ts'

/** File times come from the kernel's coarse clock, a few ms behind Date.now(): a block sent again just after a gc order must not look older than it. */
const MTIME_SLACK_MS = 20

export interface BlockStoreInit {
  /** The blockstore-fs directory. */
  path: string
  /** Bytes of the filesystem left free for everything else. */
  reservedBytes: number
  /**
   * Block writes that may proceed at once with O_DIRECT (each holds a
   * MAX_BLOCK_BYTES staging buffer); 0 writes through the page cache.
   * Default 16. Filesystems without O_DIRECT fall back by themselves.
   */
  directWriteSlots?: number
}

export interface StoredBlock {
  /** CIDv1 raw of the multihash: the store knows bytes, not codecs. */
  cid: CID
  size: number
}

export interface StoreUsage {
  capacityBytes: number
  availableBytes: number
  usedBytes: number
  blocks: number
}

/** Where corrupt copies are set aside, inside the store. */
const QUARANTINE = 'quarantine'

/** How often the free-space figure is refreshed from the filesystem, at most. */
const STATFS_INTERVAL_MS = 1_000

/**
 * Blocks on local disk in blockstore-fs's layout (so the directory stays a
 * valid blockstore-fs store), with the guarantees blockstore-fs lacks:
 *
 * - durable: a put returns only after the file and its directory are fsynced
 *   (blockstore-fs never fsyncs, so an acknowledged block could vanish in a
 *   crash);
 * - safe under concurrency: unique temp names and one writer per block
 *   (blockstore-fs uses one temp name per block, so two concurrent puts of
 *   the same block can rename a truncated file into place);
 * - verified: bytes are checked against the CID before they are written and
 *   again every time they are read.
 */
export class BlockStore {
  readonly path: string
  private readonly reservedBytes: number
  private readonly sharding = new NextToLast()
  private readonly index = new Map<string, number>()
  private readonly writing = new Map<string, Promise<boolean>>()
  private readonly dirtyDirs = new Set<string>()
  /** Shard directories known to exist: a mkdir per block cost a syscall and a path walk each. */
  private readonly madeDirs = new Set<string>()
  private readonly directWriteSlots: number
  private direct: DirectWriter | undefined
  private usedBytes = 0
  private tempCounter = 0
  private lastStatfs = { atMs: 0, capacityBytes: 0, freeBytes: 0 }

  constructor (init: BlockStoreInit) {
    this.path = path.resolve(init.path)
    this.reservedBytes = init.reservedBytes
    this.directWriteSlots = init.directWriteSlots ?? 16
  }

  /** Whether blocks are written with O_DIRECT (false where the filesystem lacks it or it is turned off). */
  get directWrites (): boolean {
    return this.direct !== undefined
  }

  /** Creates the directory, removes temp files a crash left, and indexes what is stored. */
  async open (): Promise<void> {
    await makeDirectories(this.path)
    for await (const dirEntry of await opendir(this.path)) {
      if (!dirEntry.isDirectory() || dirEntry.name === QUARANTINE) continue
      const dir = path.join(this.path, dirEntry.name)
      for await (const fileEntry of await opendir(dir)) {
        const name = fileEntry.name
        if (name.endsWith('.tmp')) {
          await rm(path.join(dir, name), { force: true })
          continue
        }
        if (!name.endsWith(this.sharding.extension)) continue
        let key: string
        try {
          // blockstore-fs's own decode reads the name as a CID, which fails for non-sha256 multihashes
          const multihash = Digest.decode(base32upper.decode(name.slice(0, -this.sharding.extension.length)))
          key = Buffer.from(multihash.bytes).toString('base64url')
        } catch {
          continue // not ours
        }
        const info = await stat(path.join(dir, name))
        this.index.set(key, info.size)
        this.usedBytes += info.size
      }
    }
    await this.refreshStatfs(true)
    if (this.directWriteSlots > 0) this.direct = await DirectWriter.create(this.path, this.directWriteSlots)
  }

  has (cid: CID): boolean {
    return this.index.has(blockKey(cid))
  }

  get size (): number {
    return this.index.size
  }

  /** Every stored block (multihash as a raw CID) with its size. */
  * list (): Generator<StoredBlock> {
    for (const [key, size] of this.index) yield { cid: cidFromKey(key), size }
  }

  /**
   * Stores a block durably. Resolves `false` when it was already stored.
   * Throws BlockCorruptError for bytes that do not match, DiskFullError when
   * there is no room.
   */
  async put (cid: CID, bytes: Uint8Array): Promise<boolean> {
    if (bytes.byteLength > MAX_BLOCK_BYTES) {
      throw new BlockTooLargeError(`block ${cid} is ${bytes.byteLength} bytes, over the ${MAX_BLOCK_BYTES}-byte limit`)
    }
    if (!hashMatches(cid, bytes)) {
      throw new BlockCorruptError(`refused block ${cid}: its ${bytes.byteLength} bytes do not match its hash`)
    }
    const key = blockKey(cid)
    if (this.index.has(key)) {
      // a put is using this block again: gc must see it as fresh (see deleteUnlessFresh)
      await utimes(this.fileOf(cid), new Date(), new Date()).catch(() => {})
      return false
    }
    const inProgress = this.writing.get(key)
    if (inProgress !== undefined) {
      await inProgress
      return false
    }
    const write = this.write(cid, key, bytes)
    this.writing.set(key, write)
    try {
      return await write
    } finally {
      this.writing.delete(key)
    }
  }

  /** fsyncs the directories of blocks put since the last sync, making their names durable. */
  async sync (): Promise<void> {
    const dirs = [...this.dirtyDirs]
    this.dirtyDirs.clear()
    await Promise.all(dirs.map(async (dir) => {
      const handle = await open(dir, 'r')
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    }))
  }

  /** Reads and verifies a block. A block that fails verification is not served. */
  async get (cid: CID): Promise<Uint8Array> {
    const key = blockKey(cid)
    if (!this.index.has(key)) throw new BlockNotFoundError(`block ${cid} is not stored here`)
    let bytes: Uint8Array
    try {
      bytes = await readFile(this.fileOf(cid))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget(key)
        throw new BlockNotFoundError(`block ${cid} is missing from disk`)
      }
      throw new LocalFileError(`cannot read block ${cid}: ${(err as Error).message}`, { cause: err })
    }
    if (!hashMatches(cid, bytes)) {
      await this.quarantine(cid)
      throw new BlockCorruptError(`block ${cid} on disk does not match its hash; moved it to ${QUARANTINE}/`)
    }
    return bytes
  }

  /**
   * Sets a corrupt copy aside: out of the index, so it is never served or
   * reported again, but kept on disk (in quarantine/) for the operator. A
   * block that fails its hash is worth nothing as a copy.
   */
  async quarantine (cid: CID): Promise<void> {
    const file = this.fileOf(cid)
    const dir = path.join(this.path, QUARANTINE)
    await makeDirectories(dir)
    await rename(file, path.join(dir, `${path.basename(file)}.${Date.now()}`)).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') await rm(file, { force: true })
    })
    this.forget(blockKey(cid))
    this.dirtyDirs.add(path.dirname(file))
  }

  /**
   * gc's delete: skips a block written, or sent again, within `graceMs` or
   * since the order came (`orderedAtMs`): a put is reusing it, whatever
   * order the messages arrived in.
   */
  async deleteUnlessFresh (cid: CID, graceMs: number, orderedAtMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const key = blockKey(cid)
    if (!this.index.has(key) || this.writing.has(key)) return false
    try {
      const info = await stat(this.fileOf(cid))
      if (Date.now() - info.mtimeMs < graceMs || info.mtimeMs >= orderedAtMs - MTIME_SLACK_MS) return false
    } catch {
      this.forget(key)
      return true
    }
    return await this.delete(cid)
  }

  async delete (cid: CID): Promise<boolean> {
    const key = blockKey(cid)
    if (!this.index.has(key)) return false
    await rm(this.fileOf(cid), { force: true })
    this.forget(key)
    this.dirtyDirs.add(path.dirname(this.fileOf(cid)))
    return true
  }

  async usage (): Promise<StoreUsage> {
    await this.refreshStatfs(false)
    return {
      capacityBytes: this.lastStatfs.capacityBytes,
      availableBytes: Math.max(0, this.lastStatfs.freeBytes - this.reservedBytes),
      usedBytes: this.usedBytes,
      blocks: this.index.size
    }
  }

  /** The file a block lives in (tests alter it to simulate rot). */
  fileOf (cid: CID): string {
    const { dir, file } = this.sharding.encode(cid)
    return path.join(this.path, dir, file)
  }

  private forget (key: string): void {
    const size = this.index.get(key)
    if (size === undefined) return
    this.index.delete(key)
    this.usedBytes -= size
  }

  private async write (cid: CID, key: string, bytes: Uint8Array): Promise<boolean> {
    await this.refreshStatfs(false)
    if (this.lastStatfs.freeBytes - this.reservedBytes < bytes.byteLength) {
      throw new DiskFullError(`datanode disk is full (${this.reservedBytes} bytes are kept free)`, {
        hint: 'add datanodes or free space; the namenode places new blocks elsewhere'
      })
    }
    const file = this.fileOf(cid)
    const dir = path.dirname(file)
    const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${this.tempCounter++}.tmp`)
    try {
      await this.writeTemp(dir, temp, bytes)
      await rename(temp, file)
    } catch (err) {
      await rm(temp, { force: true })
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new DiskFullError('datanode disk is full', { cause: err })
      }
      throw new LocalFileError(`cannot write block ${cid}: ${(err as Error).message}`, { cause: err })
    }
    this.dirtyDirs.add(dir)
    this.index.set(key, bytes.byteLength)
    this.usedBytes += bytes.byteLength
    this.lastStatfs.freeBytes -= bytes.byteLength
    return true
  }

  /** Writes and fsyncs the temp file of a block, making its shard directory first if needed. */
  private async writeTemp (dir: string, temp: string, bytes: Uint8Array): Promise<void> {
    if (!this.madeDirs.has(dir)) {
      await makeDirectories(dir)
      this.madeDirs.add(dir)
    }
    try {
      await this.writeFile(temp, bytes)
    } catch (err) {
      // someone removed the shard directory since we made it
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      this.madeDirs.delete(dir)
      await makeDirectories(dir)
      await this.writeFile(temp, bytes)
    }
  }

  private async writeFile (file: string, bytes: Uint8Array): Promise<void> {
    if (this.direct !== undefined) {
      await this.direct.writeFile(file, bytes)
      return
    }
    const handle = await open(file, 'wx', 0o644)
    try {
      // one positional write: writeFile would split a block into 512 KiB calls
      let written = 0
      while (written < bytes.byteLength) {
        written += (await handle.write(bytes, written, bytes.byteLength - written, written)).bytesWritten
      }
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  private async refreshStatfs (force: boolean): Promise<void> {
    const now = Date.now()
    if (!force && now - this.lastStatfs.atMs < STATFS_INTERVAL_MS) return
    const info = await statfs(this.path)
    this.lastStatfs = {
      atMs: now,
      capacityBytes: info.blocks * info.bsize,
      freeBytes: info.bavail * info.bsize
    }
  }
}

function cidFromKey (key: string): CID {
  return rawCid(Buffer.from(key, 'base64url'))
}
