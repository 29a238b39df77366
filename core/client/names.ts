import type { PrivateKey } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { InvalidPathError, NotFoundError, isCode } from '../errors.ts'
import { parseContentPath } from '../content/cid.ts'
import type { ContentPath } from '../content/cid.ts'
import { nameOfKey, parseName } from '../naming/names.ts'
import type { Name } from '../naming/names.ts'
import { createRecord, validateRecord } from '../naming/records.ts'
import type { DagPutParams, NameRecord } from '../protocol/messages.ts'
import type { ClientContext } from './context.ts'

/** A name may point to a name, which may point to a name...: this deep at most. */
export const MAX_NAME_DEPTH = 32

export interface PublishOptions {
  /** `/ipfs/<cid>[/path]`, `/ipns/<name>[/path]`, or a bare CID. */
  value: string
  lifetimeMs?: number
  ttlMs?: number
  /** Compare-and-swap: the value the writer expects the name to hold now; `''` for a new name. */
  expect?: string
  replication?: number
  /** The lease the new blocks were stored under (released once the name points to them). */
  lease?: string
  /**
   * The name's current record as the caller last saw it, saving a round
   * trip for it. Default: asked of the namenode. A stale one makes the
   * publish fail with ConflictError, as a stale `expect` does.
   */
  current?: NameRecord
  /** DAG nodes of the new value to index with the publish (see NamePutParams.nodes). Default: none. */
  nodes?: DagPutParams['nodes']
  signal?: AbortSignal
}

export interface Published extends NameRecord {
  /** The name as k51... */
  name: string
}

/**
 * Signs a record one sequence above the name's current one and stores it
 * on the namenode, which pins the content. With `expect`, fails with a
 * ConflictError if the name moved on meanwhile.
 */
export async function publish (ctx: ClientContext, key: PrivateKey, options: PublishOptions): Promise<Published> {
  const name = nameOfKey(key.publicKey)
  const value = normalizeValue(options.value)
  const current = options.current ?? await currentRecord(ctx, name, options.signal)
  const record = await createRecord(key, {
    value,
    sequence: current === undefined ? 0n : current.sequence + 1n,
    ...(options.lifetimeMs === undefined ? {} : { lifetimeMs: options.lifetimeMs }),
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs })
  })
  const published = await ctx.namenode.namePut({
    name: name.text,
    record,
    ...(options.expect === undefined ? {} : { expect: normalizeExpect(options.expect) }),
    ...(options.replication === undefined ? {} : { replication: options.replication }),
    ...(options.lease === undefined ? {} : { lease: options.lease }),
    ...(options.nodes === undefined ? {} : { nodes: options.nodes })
  }, options.signal)
  // the wire carries a small sequence as a number; callers get the bigint the type promises
  return { ...published, sequence: BigInt(published.sequence) }
}

/** The name's record, checked here too: the signature is what makes it trustworthy, not the namenode. */
export async function currentRecord (ctx: ClientContext, name: Name, signal?: AbortSignal): Promise<NameRecord | undefined> {
  let record: NameRecord
  try {
    record = await ctx.namenode.nameGet(name.text, signal)
  } catch (err) {
    if (isCode(err, NotFoundError)) return undefined
    throw err
  }
  const info = await validateRecord(name, record.record)
  return { ...record, value: info.value, sequence: info.sequence }
}

/**
 * Turns any path a user gives into a CID and segments: `<cid>/p`,
 * `/ipfs/<cid>/p`, `/ipns/<name>/p` (names pointing to names, up to
 * MAX_NAME_DEPTH), `/ipns/<name>@<sequence>/p` (an old value from the
 * name's history).
 */
export async function resolvePath (ctx: ClientContext, text: string, signal?: AbortSignal, depth = 0): Promise<ContentPath> {
  const trimmed = text.trim()
  const ipns = /^(?:\/ipns\/|ipns:\/\/)([^/]+)(.*)$/.exec(trimmed)
  if (ipns === null) return parseContentPath(trimmed)
  if (depth >= MAX_NAME_DEPTH) {
    throw new InvalidPathError(`names point to names more than ${MAX_NAME_DEPTH} deep (a loop?)`, { hint: 'check what the names point to with cairn name resolve' })
  }
  const [nameText = '', at] = (ipns[1] as string).split('@')
  const rest = ipns[2] ?? ''
  const name = parseName(nameText)
  let value: string
  if (at !== undefined) {
    if (!/^\d+$/.test(at)) throw new InvalidPathError(`"@${at}" is not a sequence number`, { hint: 'write /ipns/<name>@<sequence>, as cairn name history lists them' })
    const history = await ctx.namenode.nameHistory(name.text, 100_000, signal)
    // dag-cbor hands small integers back as numbers, large ones as bigints
    const entry = history.find((h) => BigInt(h.sequence) === BigInt(at))
    if (entry === undefined) {
      throw new NotFoundError(`${name.text} has no value with sequence ${at} in its history`, { hint: 'cairn name history lists the values kept' })
    }
    value = entry.value
  } else {
    const record = await currentRecord(ctx, name, signal)
    if (record === undefined) throw new NotFoundError(`the name ${name.text} has no record`, { hint: 'publish one with cairn name publish' })
    value = record.value
  }
  return await resolvePath(ctx, `${value.replace(/\/+$/, '')}${rest}`, signal, depth + 1)
}

/** `bafy...`, `/ipfs/bafy.../x`, `/ipns/k51...` as a record value. */
export function normalizeValue (value: string): string {
  const trimmed = value.trim()
  if (trimmed.startsWith('/ipfs/') || trimmed.startsWith('/ipns/')) return trimmed
  try {
    return `/ipfs/${CID.parse(trimmed.split('/')[0] as string).toString()}${trimmed.includes('/') ? trimmed.slice(trimmed.indexOf('/')) : ''}`
  } catch (err) {
    throw new InvalidPathError(`"${trimmed}" is neither a CID nor an /ipfs/ or /ipns/ path`, { cause: err })
  }
}

function normalizeExpect (expect: string): string {
  return expect === '' ? '' : normalizeValue(expect)
}
