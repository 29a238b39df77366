import type { UnixFS as HeliaUnixFS } from '@helia/unixfs'
import * as dagPb from '@ipld/dag-pb'
import type { PBLink } from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { dataFieldSerializedSize, linkSerializedSize, utf8ByteLength } from 'ipfs-unixfs-importer/utils'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidPathError, NotADirectoryError, NotFoundError, ProtocolError } from '../errors.ts'

/** Where the editor reads existing blocks and leaves the ones it makes. */
export interface EditorBlocks {
  get: (cid: CID) => Promise<Uint8Array>
  put: (cid: CID, bytes: Uint8Array) => Promise<void>
}

export interface ShardOptions {
  shardSplitStrategy: 'block-bytes' | 'links-bytes'
  shardSplitThresholdBytes: number
}

export interface TreeEditorInit {
  blocks: EditorBlocks
  /**
   * @helia/unixfs over the same blocks: HAMT-sharded directories and file
   * metadata are edited through it, so their layout is exactly the
   * ecosystem's.
   */
  fs: HeliaUnixFS
  /** The CID of `name` in the (sharded) directory `dir`, or undefined when it has none. */
  lookup: (dir: CID, name: string) => Promise<CID | undefined>
  shard: ShardOptions
  /** CID version of the directories the editor creates. */
  cidVersion: 0 | 1
}

/** One change to a tree, as `NameTree.apply` and `TreeEditor.apply` take them; paths from the tree's root. */
export type TreeEdit =
  /**
   * `blocks`: the file's own blocks, not yet stored, to be stored with the
   * change's directory nodes in one round (see `prepareSmallFile`).
   */
  | { op: 'put', path: string, cid: CID, blocks?: Array<{ cid: CID, bytes: Uint8Array }> }
  | { op: 'mkdir', path: string }
  | { op: 'rm', path: string }
  | { op: 'mv', from: string, to: string }
  | { op: 'symlink', path: string, target: string }
  | { op: 'chmod', path: string, mode: number }
  | { op: 'touch', path: string, mtimeMs: number }

/** The multihash code of murmur3-x64-64, the only hash UnixFS shards use. */
const HAMT_HASH_TYPE = 0x22n

/** A link; `tsize` is worked out when first needed (a link found in a shard has none yet). */
interface Link { cid: CID, tsize?: number }

/** A plain directory, its links held by name. */
interface FlatBody {
  kind: 'flat'
  version: 0 | 1
  meta: UnixFS
  /** The Data bytes as loaded, kept verbatim until the metadata changes. */
  data: Uint8Array | undefined
  links: Map<string, Link | Dir>
  /** Something was added since the last explicit mtime: @helia/unixfs moves a set mtime to now then. */
  bump: boolean
}

/** A HAMT-sharded directory: edited through @helia/unixfs; its changed subdirectories are relinked at flush. */
interface ShardBody {
  kind: 'shard'
  cid: CID
  pending: Map<string, Dir>
}

/** A directory a change went through, loaded into its parent in place of the link. */
interface Dir {
  body: FlatBody | ShardBody
  /** The link it was loaded from (or last written as), while unchanged since. */
  origin: Link | undefined
  dirty: boolean
}

/** What a name in the tree holds: a link not looked into, or a loaded directory. */
export type TreeChild = Link | Dir

function isDir (child: TreeChild): child is Dir {
  return 'body' in child
}

/**
 * Applies many changes to a UnixFS tree and writes each directory they
 * touch once, at `flush`. Applying them one at a time through
 * @helia/unixfs decodes, re-sorts and re-encodes every directory on the
 * path for every change, so N creates in a directory of M entries cost
 * N x M; here they cost N + M. Plain directories come out byte-identical
 * to what @helia/unixfs makes for the same changes in the same order;
 * sharded ones are edited through it.
 */
export class TreeEditor {
  private init: TreeEditorInit
  private readonly root: Dir
  /** Links in the directories loaded so far: what keeping this editor around costs in memory. */
  loadedLinks = 0

  private constructor (init: TreeEditorInit, root: Dir) {
    this.init = init
    this.root = root
  }

  static async open (root: CID, init: TreeEditorInit): Promise<TreeEditor> {
    // the root is never linked, so its link size is never read
    const dir = await loadDir(init.blocks, { cid: root, tsize: 0 })
    if (dir === undefined) throw new NotADirectoryError(`${root} is not a directory`)
    const editor = new TreeEditor(init, dir)
    editor.count(dir)
    return editor
  }

  /**
   * Goes on from the flushed tree with other blocks (a new change's): what
   * is loaded stays loaded, so the next change fetches and decodes nothing
   * it has seen. Only after `flush`, and only for the root it returned.
   */
  rebind (init: TreeEditorInit): this {
    if (this.root.dirty) throw new Error('TreeEditor.rebind before flush')
    this.init = init
    return this
  }

  /**
   * One change, leniently, as a replay on top of another writer's tree
   * needs: removing, moving, chmod-ing or touching what is gone leaves the
   * tree as it is; missing parents are made.
   */
  async apply (edit: TreeEdit): Promise<void> {
    const segments = segmentsOf(edit.op === 'mv' ? edit.from : edit.path)
    // of the root itself only the mode and mtime change
    if (segments.length === 0 && edit.op !== 'chmod' && edit.op !== 'touch') return
    switch (edit.op) {
      case 'put':
        for (const block of edit.blocks ?? []) await this.init.blocks.put(block.cid, block.bytes)
        await this.set(segments, edit.cid)
        return
      case 'symlink': {
        const bytes = symlinkBytes(edit.target)
        const digest = await sha256.digest(bytes)
        const cid = this.init.cidVersion === 0 ? CID.createV0(digest) : CID.createV1(dagPb.code, digest)
        await this.init.blocks.put(cid, bytes)
        await this.set(segments, cid)
        return
      }
      case 'mkdir': {
        const existing = await this.get(segments)
        if (existing === undefined || !(await this.isDirectory(existing))) await this.set(segments, this.emptyDir())
        return
      }
      case 'rm':
        await this.remove(segments)
        return
      case 'mv': {
        const source = await this.get(segments)
        if (source === undefined) return
        await this.remove(segments)
        const target = segmentsOf(edit.to)
        if (target.length > 0) await this.set(target, source)
        return
      }
      case 'chmod':
      case 'touch':
        if (await this.get(segments) === undefined) return
        await this.setMeta(segments, edit.op === 'chmod'
          ? { mode: edit.mode }
          : { mtime: { secs: BigInt(Math.floor(edit.mtimeMs / 1000)), nsecs: Math.round((edit.mtimeMs % 1000) * 1e6) } })
    }
  }

  /** A new empty directory, to `set` somewhere. */
  emptyDir (): TreeChild {
    return newDir(this.init.cidVersion)
  }

  /** What is at `segments`, or undefined when it, or a directory on the way, is missing or not a directory. */
  async get (segments: string[]): Promise<TreeChild | undefined> {
    if (segments.length === 0) return this.root
    const path = await this.walk(segments.slice(0, -1), false, true)
    if (path === undefined) return undefined
    return await this.childOf(path.at(-1) as Dir, segments.at(-1) as string)
  }

  async isDirectory (child: TreeChild): Promise<boolean> {
    if (isDir(child)) return true
    if (child.cid.code !== dagPb.code) return false
    const data = dagPb.decode(await this.init.blocks.get(child.cid)).Data
    return data !== undefined && UnixFS.unmarshal(data).isDirectory()
  }

  /** Puts `child` (a CID, or what `get` or `emptyDir` gave) at `segments`, replacing what is there; missing parents are made. */
  async set (segments: string[], child: TreeChild | CID): Promise<void> {
    const name = segments.at(-1)
    if (name === undefined) throw new InvalidPathError('the root of a tree cannot be replaced')
    const path = await this.walk(segments.slice(0, -1), true, false) as Dir[]
    const body = (path.at(-1) as Dir).body
    if (body.kind === 'flat') {
      body.links.set(name, child instanceof CID ? { cid: child, tsize: await this.tsizeOf(child) } : child)
      body.bump = true
    } else {
      body.pending.delete(name)
      const cid = child instanceof CID ? child : isDir(child) ? (await this.flushDir(child)).cid : child.cid
      body.cid = await this.init.fs.cp(cid, body.cid, name, { force: true, ...this.init.shard })
    }
    this.changed(path)
  }

  /** Removes what is at `segments`; false when nothing was there. */
  async remove (segments: string[]): Promise<boolean> {
    const name = segments.at(-1)
    if (name === undefined) throw new InvalidPathError('the root of a tree cannot be removed')
    const path = await this.walk(segments.slice(0, -1), false, true)
    if (path === undefined) return false
    const dir = path.at(-1) as Dir
    if (await this.childOf(dir, name) === undefined) return false
    if (dir.body.kind === 'flat') {
      dir.body.links.delete(name)
    } else {
      dir.body.pending.delete(name)
      dir.body.cid = await this.init.fs.rm(dir.body.cid, name, this.init.shard)
    }
    // @helia/unixfs moves no mtime on a removal, only the parents' as each relinks its child
    this.changed(path, false)
    return true
  }

  /** Sets the UnixFS mode or mtime of what is at `segments` (a file gets a new root node). */
  async setMeta (segments: string[], change: { mode: number } | { mtime: { secs: bigint, nsecs: number } }): Promise<void> {
    const target = await this.get(segments)
    if (target === undefined) throw new NotFoundError(`/${segments.join('/')} does not exist`)
    const fs = this.init.fs
    if (!(await this.isDirectory(target))) {
      const { cid } = target as Link
      await this.set(segments, 'mode' in change ? await fs.chmod(cid, change.mode) : await fs.touch(cid, { mtime: change.mtime }))
      return
    }
    const path = await this.walk(segments, false, false) as Dir[]
    const body = (path.at(-1) as Dir).body
    if (body.kind === 'flat') {
      if ('mode' in change) body.meta.mode = change.mode
      else { body.meta.mtime = change.mtime; body.bump = false }
      body.data = undefined
    } else {
      await this.flushPending(body)
      body.cid = await this.shardMeta(body.cid, change)
    }
    this.changed(path, false)
  }

  /**
   * A shard's root node with a new mode or mtime. Not through
   * @helia/unixfs's chmod and touch: ipfs-unixfs's unmarshal drops the
   * hash type, and a shard written back without it can no longer be read.
   */
  private async shardMeta (cid: CID, change: { mode: number } | { mtime: { secs: bigint, nsecs: number } }): Promise<CID> {
    const node = dagPb.decode(await this.init.blocks.get(cid))
    const meta = UnixFS.unmarshal(node.Data ?? new Uint8Array(0))
    meta.hashType = HAMT_HASH_TYPE
    if ('mode' in change) meta.mode = change.mode
    else meta.mtime = change.mtime
    const bytes = dagPb.encode({ Data: meta.marshal(), Links: node.Links })
    const updated = CID.create(cid.version, dagPb.code, await sha256.digest(bytes))
    await this.init.blocks.put(updated, bytes)
    return updated
  }

  /** Writes every changed directory, deepest first, and returns the new root. */
  async flush (): Promise<CID> {
    return (await this.flushDir(this.root)).cid
  }

  /** Every directory on `path` changed; each parent relinks its child, an add, which moves a set mtime. */
  private changed (path: Dir[], bumpLast = true): void {
    path.forEach((dir, i) => {
      dir.dirty = true
      dir.origin = undefined
      if (dir.body.kind === 'flat' && (bumpLast || i < path.length - 1)) dir.body.bump = true
    })
  }

  /**
   * The directories from the root along `segments`, each loaded into its
   * parent. A missing one is made when `create`; otherwise, and when one is
   * not a directory, the answer is undefined when `lenient`, else an error.
   */
  private async walk (segments: string[], create: boolean, lenient: boolean): Promise<Dir[] | undefined> {
    const path: Dir[] = [this.root]
    let dir = this.root
    for (const [i, name] of segments.entries()) {
      const child = await this.childOf(dir, name)
      let next: Dir | undefined
      if (child === undefined) {
        if (!create) {
          if (lenient) return undefined
          throw new NotFoundError(`directory /${segments.slice(0, i + 1).join('/')} does not exist`)
        }
        next = newDir(this.init.cidVersion)
      } else {
        next = isDir(child) ? child : this.count(await loadDir(this.init.blocks, child))
        if (next === undefined) {
          if (lenient) return undefined
          throw new NotADirectoryError(`/${segments.slice(0, i + 1).join('/')} is not a directory`)
        }
      }
      if (dir.body.kind === 'flat') dir.body.links.set(name, next)
      else dir.body.pending.set(name, next)
      path.push(next)
      dir = next
    }
    return path
  }

  private count (dir: Dir | undefined): Dir | undefined {
    if (dir?.body.kind === 'flat') this.loadedLinks += dir.body.links.size
    return dir
  }

  private async childOf (dir: Dir, name: string): Promise<TreeChild | undefined> {
    if (dir.body.kind === 'flat') return dir.body.links.get(name)
    const pending = dir.body.pending.get(name)
    if (pending !== undefined) return pending
    const cid = await this.init.lookup(dir.body.cid, name)
    return cid === undefined ? undefined : { cid }
  }

  /** The link with its size: most links never need it (a removal, a walk through a directory). */
  private async sized (link: Link): Promise<Required<Link>> {
    link.tsize ??= await this.tsizeOf(link.cid)
    return link as Required<Link>
  }

  /** A link's size as @helia/unixfs computes it: a raw block's length, or a node's encoded length plus its links'. */
  private async tsizeOf (cid: CID): Promise<number> {
    const bytes = await this.init.blocks.get(cid)
    if (cid.code === raw.code) return bytes.byteLength
    if (cid.code !== dagPb.code) throw new ProtocolError(`${cid} is not a UnixFS node`, { hint: 'only UnixFS files, directories and symlinks can be linked into a tree' })
    const node = dagPb.decode(bytes)
    return dagPb.encode(node).byteLength + node.Links.reduce((sum, link) => sum + (link.Tsize ?? 0), 0)
  }

  private async flushDir (dir: Dir): Promise<Link> {
    if (!dir.dirty && dir.origin !== undefined) return dir.origin
    const body = dir.body
    if (body.kind === 'shard') {
      await this.flushPending(body)
      dir.origin = { cid: body.cid }
    } else {
      dir.origin = await this.writeFlat(dir, body)
    }
    dir.dirty = false
    return dir.origin
  }

  private async writeFlat (dir: Dir, body: FlatBody): Promise<Link> {
    const links: PBLink[] = []
    for (const [name, child] of body.links) {
      const link = await this.sized(isDir(child) ? await this.flushDir(child) : child)
      links.push({ Name: name, Hash: link.cid, Tsize: link.tsize })
    }
    sortLinks(links)
    if (body.bump && body.meta.mtime !== undefined) {
      // as @helia/unixfs's addLink does, down to its nanoseconds (which hold microseconds)
      const ms = Date.now()
      const secs = Math.floor(ms / 1000)
      body.meta.mtime = { secs: BigInt(secs), nsecs: (ms - secs * 1000) * 1000 }
      body.data = undefined
    }
    body.bump = false
    const data = body.data ?? body.meta.marshal()
    body.data = data
    if (this.overThreshold(body.meta, links)) return await this.convertToShard(dir, body, links)
    const bytes = dagPb.encode({ Data: data, Links: links })
    const cid = CID.create(body.version, dagPb.code, await sha256.digest(bytes))
    await this.init.blocks.put(cid, bytes)
    return { cid, tsize: bytes.byteLength + links.reduce((sum, link) => sum + (link.Tsize ?? 0), 0) }
  }

  /** @helia/unixfs's rule for when a plain directory becomes a HAMT shard. */
  private overThreshold (meta: UnixFS, links: PBLink[]): boolean {
    const { shardSplitStrategy, shardSplitThresholdBytes } = this.init.shard
    let size = shardSplitStrategy === 'block-bytes' ? dataFieldSerializedSize(meta.mode, meta.mtime) : 0
    for (const link of links) {
      const nameBytes = utf8ByteLength(link.Name ?? '')
      size += shardSplitStrategy === 'block-bytes'
        ? linkSerializedSize(nameBytes, link.Hash.byteLength, link.Tsize ?? 0)
        : nameBytes + link.Hash.byteLength
    }
    return size > shardSplitThresholdBytes
  }

  /**
   * The directory outgrew one block: @helia/unixfs builds the shard as it
   * would on the add that crossed the threshold (the node without its last
   * link, then that link added). From then on it is edited as a shard.
   */
  private async convertToShard (dir: Dir, body: FlatBody, links: PBLink[]): Promise<Link> {
    const last = links.pop() as PBLink
    const bytes = dagPb.encode({ Data: body.data ?? body.meta.marshal(), Links: links })
    const base = CID.create(body.version, dagPb.code, await sha256.digest(bytes))
    await this.init.blocks.put(base, bytes)
    const cid = await this.init.fs.cp(last.Hash, base, last.Name as string, { force: true, ...this.init.shard })
    // the loaded subdirectories stay loaded, so later changes below them are still seen
    const pending = new Map([...body.links].filter((entry): entry is [string, Dir] => isDir(entry[1])))
    dir.body = { kind: 'shard', cid, pending }
    return { cid }
  }

  /** Relinks a shard's changed subdirectories into it. */
  private async flushPending (body: ShardBody): Promise<void> {
    for (const [name, child] of body.pending) {
      if (!child.dirty) continue
      const link = await this.flushDir(child)
      body.cid = await this.init.fs.cp(link.cid, body.cid, name, { force: true, ...this.init.shard })
    }
  }
}

function newDir (version: 0 | 1): Dir {
  const meta = new UnixFS({ type: 'directory' })
  return { body: { kind: 'flat', version, meta, data: meta.marshal(), links: new Map(), bump: false }, origin: undefined, dirty: true }
}

/** The directory a link points to, loaded; undefined when it is not one. */
async function loadDir (blocks: EditorBlocks, link: Link): Promise<Dir | undefined> {
  if (link.cid.code !== dagPb.code) return undefined
  const node = dagPb.decode(await blocks.get(link.cid))
  if (node.Data === undefined) return undefined
  const meta = UnixFS.unmarshal(node.Data)
  if (meta.type === 'hamt-sharded-directory') return { body: { kind: 'shard', cid: link.cid, pending: new Map() }, origin: link, dirty: false }
  if (meta.type !== 'directory') return undefined
  const links = new Map<string, Link | Dir>()
  for (const l of node.Links) links.set(l.Name ?? '', { cid: l.Hash, tsize: l.Tsize ?? 0 })
  return { body: { kind: 'flat', version: link.cid.version, meta, data: node.Data, links, bump: false }, origin: link, dirty: false }
}

/** dag-pb's link order (by the names' UTF-8 bytes), each name encoded once rather than on every comparison. */
function sortLinks (links: PBLink[]): void {
  const keyed = links.map((link) => ({ link, key: Buffer.from(link.Name ?? '', 'utf8') }))
  keyed.sort((a, b) => Buffer.compare(a.key, b.key))
  keyed.forEach(({ link }, i) => { links[i] = link })
}

/** A UnixFS symlink node's bytes (dag-pb, no links). */
function symlinkBytes (target: string): Uint8Array {
  return dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'symlink', data: new TextEncoder().encode(target) }).marshal() }))
}

/** `/a/b/c` as segments, refusing what cannot be a name in a directory. */
export function segmentsOf (path: string): string[] {
  const segments = path.split('/').filter((s) => s !== '')
  for (const s of segments) {
    if (s === '.' || s === '..' || s.includes('\0')) {
      throw new InvalidPathError(`"${s}" cannot be a name in a tree`, { hint: 'give a plain path from the root, such as /docs/notes.txt' })
    }
  }
  return segments
}
