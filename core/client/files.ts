import { randomUUID } from 'node:crypto'
import { unixfs } from '@helia/unixfs'
import type { UnixFS } from '@helia/unixfs'
import type { PrivateKey } from '@libp2p/interface'
import type { ImportCandidateStream } from 'ipfs-unixfs-importer'
import { exporter } from 'ipfs-unixfs-exporter'
import type { UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { DEFAULT_REPLICATION } from '../constants.ts'
import {
  AlreadyExistsError, CairnError, ConflictError, DirectoryNotEmptyError, InvalidPathError, NotADirectoryError,
  NotAFileError, NotFoundError
} from '../errors.ts'
import { blockKey } from '../content/cid.ts'
import { importDag } from '../content/import.ts'
import { DEFAULT_PROFILE, PROFILES } from '../content/profiles.ts'
import type { ProfileName } from '../content/profiles.ts'
import { blockLinks } from '../content/links.ts'
import { nameOfKey } from '../naming/names.ts'
import type { Name } from '../naming/names.ts'
import { BlockWriter } from './block-writer.ts'
import { TreeEditor, segmentsOf } from './tree-editor.ts'
import type { TreeEdit } from './tree-editor.ts'
import type { ClientContext } from './context.ts'
import { currentRecord, publish, resolvePath } from './names.ts'
import type { Published } from './names.ts'
import type { NameRecord } from '../protocol/messages.ts'

/** DAG nodes per index request. */
const INDEX_BATCH = 512
/** Links a kept TreeEditor may hold loaded (some 200 bytes each); past it the next change loads afresh. */
const KEPT_EDITOR_MAX_LINKS = 250_000

export interface NameTreeInit {
  key: PrivateKey
  /** Copies of new content. Default: the name's replication, else DEFAULT_REPLICATION. */
  replication?: number
  /** CID profile for new files and directories. Default DEFAULT_PROFILE. */
  profile?: ProfileName
  /** Attempts at a change when other writers keep winning. Default 8. */
  maxAttempts?: number
  signal?: AbortSignal
}

export interface TreeEntry {
  name: string
  cid: CID
  kind: 'file' | 'directory' | 'symlink' | 'other'
  size: number
}

/**
 * Edits the tree a name points to, like Kubo's MFS (`ipfs files`), but on
 * the cluster and safe with several writers. Each change rebuilds only the
 * directories on the path from the change to the root, stores the new
 * blocks at the name's replication, and publishes the new root with
 * compare-and-swap. When another writer got there first the change is
 * applied again on top of theirs, so no update is lost; a change that no
 * longer makes sense (the file it removes is gone) fails instead.
 */
export class NameTree {
  readonly name: Name
  private readonly ctx: ClientContext
  private readonly init: NameTreeInit
  /**
   * What this tree last published, and the editor that made it: the next
   * change starts from them, asking and fetching nothing. When another
   * writer published meanwhile, the guess costs one ConflictError, and the
   * change is redone from the namenode's record.
   */
  private last?: { record: NameRecord, root: CID, editor?: TreeEditor }

  constructor (ctx: ClientContext, init: NameTreeInit) {
    this.ctx = ctx
    this.init = init
    this.name = nameOfKey(init.key.publicKey)
  }

  /** The tree's root now, or undefined when the name has no record yet (an empty tree). */
  async root (): Promise<CID | undefined> {
    const record = await currentRecord(this.ctx, this.name, this.init.signal)
    if (record === undefined) return undefined
    const path = await resolvePath(this.ctx, record.value, this.init.signal)
    return await this.descend(path.root, path.segments)
  }

  async ls (path: string): Promise<TreeEntry[]> {
    const root = await this.root()
    if (root === undefined) return []
    const entry = await this.entryAt(root, segmentsOf(path), new Overlay(this.ctx))
    if (entry === undefined) throw new NotFoundError(`${this.name.text}:${path} does not exist`)
    if (entry.type !== 'directory') return [{ name: entry.name, cid: entry.cid, kind: kindOf(entry), size: Number(entry.type === 'file' ? entry.unixfs.fileSize() : 0) }]
    const out: TreeEntry[] = []
    for await (const child of entry.entries()) out.push({ name: child.name, cid: child.cid, kind: 'other', size: Number(child.size) })
    return out
  }

  /** Writes a file (its bytes are stored once; only the link is redone on a retry). */
  async write (path: string, content: ImportCandidateStream, options: { parents?: boolean } = {}): Promise<Published> {
    const segments = segmentsOf(path)
    const name = segments.at(-1)
    if (name === undefined) throw new InvalidPathError('cannot write to the root of a name', { hint: 'give a file path such as self:/notes.txt' })
    const lease = randomUUID()
    const file = await this.store(content, lease)
    return await this.change(lease, async (root, fs, overlay) => {
      return await this.inDirectory(root, segments.slice(0, -1), fs, overlay, options.parents === true, async (dir) => {
        const existing = await this.entryAt(dir, [name], overlay)
        if (existing?.type === 'directory') throw new NotAFileError(`${path} is a directory`)
        return await fs.cp(file, dir, name, { force: true, ...this.shardOptions(root) })
      })
    })
  }

  async mkdir (path: string, options: { parents?: boolean } = {}): Promise<Published> {
    const segments = segmentsOf(path)
    const name = segments.at(-1)
    if (name === undefined) throw new AlreadyExistsError('the root always exists')
    return await this.change(randomUUID(), async (root, fs, overlay) => {
      return await this.inDirectory(root, segments.slice(0, -1), fs, overlay, options.parents === true, async (dir) => {
        const existing = await this.entryAt(dir, [name], overlay)
        if (existing !== undefined) {
          if (options.parents === true && existing.type === 'directory') return dir
          throw new AlreadyExistsError(`${path} already exists`)
        }
        return await fs.cp(await fs.addDirectory({}, this.dirOptions(root)), dir, name, this.shardOptions(root))
      })
    })
  }

  async rm (path: string, options: { recursive?: boolean } = {}): Promise<Published> {
    const segments = segmentsOf(path)
    const name = segments.at(-1)
    if (name === undefined) throw new InvalidPathError('cannot remove the root of a name')
    return await this.change(randomUUID(), async (root, fs, overlay) => {
      return await this.inDirectory(root, segments.slice(0, -1), fs, overlay, false, async (dir) => {
        const existing = await this.entryAt(dir, [name], overlay)
        if (existing === undefined) throw new NotFoundError(`${path} does not exist`)
        if (existing.type === 'directory' && options.recursive !== true && await hasEntries(existing)) {
          throw new DirectoryNotEmptyError(`${path} is a directory with entries`, { hint: 'remove it with --recursive' })
        }
        return await fs.rm(dir, name, this.shardOptions(root))
      })
    })
  }

  /** Moves or renames; into a directory when `to` is one. */
  async mv (from: string, to: string): Promise<Published> {
    return await this.change(randomUUID(), async (root, fs, overlay) => {
      const source = await this.entryAt(root, segmentsOf(from), overlay)
      if (source === undefined) throw new NotFoundError(`${from} does not exist`)
      const fromSegments = segmentsOf(from)
      const removed = await this.inDirectory(root, fromSegments.slice(0, -1), fs, overlay, false, async (dir) => await fs.rm(dir, fromSegments.at(-1) as string, this.shardOptions(root)))
      return await this.link(removed, segmentsOf(to), source.cid, fs, overlay, fromSegments.at(-1) as string)
    })
  }

  /** Copies anything in the cluster (`/ipfs/...`, `/ipns/...`, a CID) into the tree. */
  async cp (source: string, to: string): Promise<Published> {
    const path = await resolvePath(this.ctx, source, this.init.signal)
    const cid = await this.descend(path.root, path.segments)
    const fallbackName = path.segments.at(-1) ?? cid.toString()
    return await this.change(randomUUID(), async (root, fs, overlay) => await this.link(root, segmentsOf(to), cid, fs, overlay, fallbackName))
  }

  /**
   * Stores file content (with any UnixFS mode and mtime the candidate
   * carries) without linking it anywhere; `apply` links it. Pass the same
   * lease to `apply` so the blocks stay protected until the name points to them.
   */
  async storeFile (content: ImportCandidateStream, lease: string): Promise<CID> {
    return await this.store(content, lease)
  }

  /**
   * Imports a small file in memory, storing nothing: a put edit carrying
   * the blocks stores them with the change's directory nodes, one round
   * (placement, transfer, sync, index) instead of two. For content that
   * fits in memory comfortably (a mount's small files); the caller bounds it.
   */
  async prepareSmallFile (content: ImportCandidateStream): Promise<{ cid: CID, blocks: Array<{ cid: CID, bytes: Uint8Array }> }> {
    const blocks: Array<{ cid: CID, bytes: Uint8Array }> = []
    const summary = await importDag(content, { put: async (cid, bytes) => { blocks.push({ cid, bytes }) } }, this.importOptions())
    return { cid: summary.root, blocks }
  }

  /**
   * Stores several files in one round: their blocks share the writer's
   * batches (one placement, one transfer and one sync per batch instead of
   * per file) and their DAG nodes one index call. Returns each root.
   */
  async storeFiles (contents: ImportCandidateStream[], lease: string): Promise<CID[]> {
    const writer = this.writer(lease)
    const roots: CID[] = []
    const nodes: Array<{ cid: CID, bytes?: Uint8Array }> = []
    for (const content of contents) {
      const summary = await importDag(content, writer, this.importOptions())
      roots.push(summary.root)
      nodes.push(...summary.dagNodes)
    }
    await writer.flush()
    await this.index(nodes, lease)
    return roots
  }

  /**
   * Several edits as one change and one publish (a mount batches what its
   * programs did since the last publish). Replayed on top of another
   * writer's root after a conflict, so each edit is lenient where a replay
   * can find things moved: removing what is gone, or moving, chmod-ing or
   * touching what is gone, leaves the tree as it is; parents are created.
   */
  async apply (edits: TreeEdit[], lease: string = randomUUID()): Promise<Published & { root: CID }> {
    const { published, root } = await this.changeWith(lease, async (base, fs, overlay, kept) => {
      const signal = this.init.signal === undefined ? {} : { signal: this.init.signal }
      const init = {
        blocks: { get: async (cid: CID) => await overlay.block(cid, signal), put: async (cid: CID, bytes: Uint8Array) => { await overlay.put(cid, bytes) } },
        fs,
        lookup: async (dir: CID, name: string) => (await this.entryAt(dir, [name], overlay))?.cid,
        shard: this.shardOptions(base),
        cidVersion: this.dirOptions(base).cidVersion
      }
      const editor = kept?.rebind(init) ?? await TreeEditor.open(base, init)
      for (const edit of edits) await editor.apply(edit)
      return { root: await editor.flush(), editor }
    })
    return { ...published, root }
  }

  /** Puts `cid` at `target`, or inside it (as `fallbackName`) when `target` is a directory. */
  private async link (root: CID, target: string[], cid: CID, fs: UnixFS, overlay: Overlay, fallbackName: string): Promise<CID> {
    const existing = target.length === 0 ? undefined : await this.entryAt(root, target, overlay)
    const into = target.length === 0 || existing?.type === 'directory'
    const dirSegments = into ? target : target.slice(0, -1)
    const name = into ? fallbackName : target.at(-1) as string
    return await this.inDirectory(root, dirSegments, fs, overlay, false, async (dir) => await fs.cp(cid, dir, name, { force: true, ...this.shardOptions(root) }))
  }

  /**
   * The read, edit, store, publish loop. `edit` gets the current root (an
   * empty directory for a new name) and returns the new one.
   */
  private async change (lease: string, edit: (root: CID, fs: UnixFS, overlay: Overlay) => Promise<CID>): Promise<Published> {
    return (await this.changeWith(lease, async (root, fs, overlay) => ({ root: await edit(root, fs, overlay) }))).published
  }

  /**
   * `change`, where the edit may hand back the TreeEditor that made the
   * new root, and gets the one kept from this tree's last publish when its
   * base is that publish's root.
   */
  private async changeWith (
    lease: string,
    edit: (root: CID, fs: UnixFS, overlay: Overlay, kept: TreeEditor | undefined) => Promise<{ root: CID, editor?: TreeEditor }>
  ): Promise<{ published: Published, root: CID }> {
    const attempts = this.init.maxAttempts ?? 8
    for (let attempt = 1; ; attempt++) {
      this.init.signal?.throwIfAborted()
      // first try from what this tree last published (taken: a failed change must not leave it half-edited)
      const last = attempt === 1 ? this.last : undefined
      this.last = undefined
      const record = last?.record ?? await currentRecord(this.ctx, this.name, this.init.signal)
      const overlay = new Overlay(this.ctx)
      const fs = unixfs({ blockstore: overlay })
      // the base comes from the very record the publish will expect
      let base: CID
      if (last !== undefined) {
        base = last.root
      } else if (record === undefined) {
        base = await fs.addDirectory({}, this.dirOptions(undefined))
      } else {
        const at = await resolvePath(this.ctx, record.value, this.init.signal)
        base = await this.descend(at.root, at.segments)
      }
      const { root, editor } = await edit(base, fs, overlay, last?.editor)
      const nodes = await this.persist(root, overlay, lease)
      try {
        const published = await publish(this.ctx, this.init.key, {
          value: `/ipfs/${root.toString()}`,
          expect: record?.value ?? '',
          lease,
          ...(record === undefined ? {} : { current: record }),
          ...(nodes.length === 0 ? {} : { nodes }),
          ...(this.init.replication === undefined ? {} : { replication: this.init.replication }),
          ...(this.init.signal === undefined ? {} : { signal: this.init.signal })
        })
        const keep = editor !== undefined && editor.loadedLinks <= KEPT_EDITOR_MAX_LINKS ? { editor } : {}
        this.last = { record: published, root, ...keep }
        return { published, root }
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= attempts) throw err
        // someone else published first: redo the change on top of theirs, after a moment
        // (none when the first try started from a stale guess of ours: that is no race)
        if (last === undefined) await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt))
      }
    }
  }

  private importOptions (): { profile: ProfileName, signal?: AbortSignal } {
    return { profile: this.init.profile ?? DEFAULT_PROFILE, ...(this.init.signal === undefined ? {} : { signal: this.init.signal }) }
  }

  /** Stores file content at the name's replication; returns its root. */
  private async store (content: ImportCandidateStream, lease: string): Promise<CID> {
    return (await this.storeFiles([content], lease))[0] as CID
  }

  /**
   * Stores the new blocks an edit made (those the new root reaches).
   * Returns their DAG nodes for the publish to index, or none when there
   * are too many for one request (then they are indexed here).
   */
  private async persist (root: CID, overlay: Overlay, lease: string): Promise<Array<{ cid: CID, bytes?: Uint8Array }>> {
    const fresh = overlay.reachableNew(root)
    if (fresh.length === 0) return []
    const writer = this.writer(lease)
    for (const { cid, bytes } of fresh) await writer.put(cid, bytes)
    await writer.flush()
    const nodes = fresh.filter((b) => b.cid.code !== raw.code).map(({ cid, bytes }) => blockLinks(cid, bytes).length > 0 ? { cid, bytes } : { cid })
    if (nodes.length <= INDEX_BATCH) return nodes
    await this.index(nodes, lease)
    return []
  }

  private async index (nodes: Array<{ cid: CID, bytes?: Uint8Array }>, lease: string): Promise<void> {
    for (let i = 0; i < nodes.length; i += INDEX_BATCH) await this.ctx.namenode.dagPut(nodes.slice(i, i + INDEX_BATCH), this.init.signal, lease)
  }

  private writer (lease: string): BlockWriter {
    return new BlockWriter({
      namenode: this.ctx.namenode,
      pool: this.ctx.pool,
      replication: this.init.replication ?? DEFAULT_REPLICATION,
      lease,
      // a mount reads back what it wrote: no namenode round trip to find it
      onReplicated: (blocks, holders) => { this.ctx.reader.learn(blocks, holders) },
      ...(this.init.signal === undefined ? {} : { signal: this.init.signal })
    })
  }

  /** Applies `fn` to the directory at `segments` and relinks every parent up to `root`. */
  private async inDirectory (root: CID, segments: string[], fs: UnixFS, overlay: Overlay, parents: boolean, fn: (dir: CID) => Promise<CID>): Promise<CID> {
    const [head, ...rest] = segments
    if (head === undefined) return await fn(root)
    const child = await this.entryAt(root, [head], overlay)
    let childCid: CID
    if (child === undefined) {
      if (!parents) throw new NotFoundError(`directory ${head} does not exist`, { hint: 'create it first, or pass --parents' })
      childCid = await fs.addDirectory({}, this.dirOptions(root))
    } else if (child.type !== 'directory') {
      throw new NotADirectoryError(`${head} is not a directory`)
    } else {
      childCid = child.cid
    }
    const updated = await this.inDirectory(childCid, rest, fs, overlay, parents, fn)
    return await fs.cp(updated, root, head, { force: true, ...this.shardOptions(root) })
  }

  private async entryAt (root: CID, segments: string[], overlay: Overlay): Promise<UnixFSEntry | undefined> {
    try {
      return await exporter([root.toString(), ...segments].join('/'), overlay, this.init.signal === undefined ? {} : { signal: this.init.signal })
    } catch (err) {
      if (err instanceof CairnError) throw err
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }

  private async descend (root: CID, segments: string[]): Promise<CID> {
    if (segments.length === 0) return root
    const entry = await this.entryAt(root, segments, new Overlay(this.ctx))
    if (entry === undefined) throw new NotFoundError(`${[root.toString(), ...segments].join('/')} does not exist`)
    return entry.cid
  }

  /**
   * New directories follow the tree's own CID version and sharding rules: a
   * CIDv0 tree is Kubo's classic one, a CIDv1 tree the profile's (or
   * unixfs-v1-2025's, when the profile is a CIDv0 one).
   */
  private shardOptions (root: CID | undefined): { shardSplitStrategy: 'block-bytes' | 'links-bytes', shardSplitThresholdBytes: number } {
    const profile = PROFILES[this.init.profile ?? DEFAULT_PROFILE]
    const strategy = root?.version === 0 ? 'links-bytes' : profile.cidVersion === 1 ? profile.shardSplitStrategy : 'block-bytes'
    return { shardSplitStrategy: strategy, shardSplitThresholdBytes: 262_144 }
  }

  private dirOptions (root: CID | undefined): { cidVersion: 0 | 1 } {
    return { cidVersion: root?.version === 0 || PROFILES[this.init.profile ?? DEFAULT_PROFILE].cidVersion === 0 ? 0 : 1 }
  }
}

/**
 * The cluster's blocks, plus the new ones an edit makes before they are
 * stored: @helia/unixfs reads and writes through this.
 */
class Overlay {
  private readonly ctx: ClientContext
  private readonly fresh = new Map<string, { cid: CID, bytes: Uint8Array }>()

  constructor (ctx: ClientContext) {
    this.ctx = ctx
  }

  async * get (cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    yield await this.block(cid, options)
  }

  async block (cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array> {
    return this.fresh.get(blockKey(cid))?.bytes ?? await this.ctx.reader.get(cid, options)
  }

  async put (cid: CID, bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<CID> {
    const whole = bytes instanceof Uint8Array ? bytes : await collect(bytes)
    this.fresh.set(blockKey(cid), { cid, bytes: whole })
    return cid
  }

  async has (cid: CID): Promise<boolean> {
    return this.fresh.has(blockKey(cid))
  }

  /** New blocks the given root reaches (an edit may leave intermediate nodes behind). */
  reachableNew (root: CID): Array<{ cid: CID, bytes: Uint8Array }> {
    const out: Array<{ cid: CID, bytes: Uint8Array }> = []
    const seen = new Set<string>()
    const stack = [root]
    while (stack.length > 0) {
      const cid = stack.pop() as CID
      const key = blockKey(cid)
      if (seen.has(key)) continue
      seen.add(key)
      const block = this.fresh.get(key)
      if (block === undefined) continue
      out.push(block)
      stack.push(...blockLinks(cid, block.bytes))
    }
    return out
  }
}

async function collect (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

async function hasEntries (entry: UnixFSEntry): Promise<boolean> {
  if (entry.type !== 'directory') return false
  for await (const _ of entry.entries()) return true
  return false
}

function kindOf (entry: UnixFSEntry): TreeEntry['kind'] {
  if (entry.type === 'directory') return 'directory'
  if (entry.type === 'file') return entry.unixfs.type === 'symlink' ? 'symlink' : 'file'
  if (entry.type === 'raw' || entry.type === 'identity') return 'file'
  return 'other'
}
