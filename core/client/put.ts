import { randomUUID } from 'node:crypto'
import type { ImportCandidateStream } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { DEFAULT_REPLICATION, MAX_FRAME_BYTES, MAX_REPLICATION } from '../constants.ts'
import { InvalidArgumentError } from '../errors.ts'
import { importDag } from '../content/import.ts'
import type { DagNode } from '../content/import.ts'
import { DEFAULT_PROFILE } from '../content/profiles.ts'
import type { ProfileName } from '../content/profiles.ts'
import { BlockWriter } from './block-writer.ts'
import type { ClientContext } from './context.ts'

export interface PutOptions {
  /** Copies wanted. Default DEFAULT_REPLICATION (3). */
  replication?: number
  /** Default DEFAULT_PROFILE (unixfs-v1-2025). */
  profile?: ProfileName
  /** Shown by `pin ls`. */
  label?: string
  signal?: AbortSignal
  /** Bytes whose copies are all stored so far. */
  onStored?: (bytes: number) => void
  onWarning?: (message: string) => void
}

export interface PutResult {
  root: CID
  /** Distinct blocks in the DAG. */
  blocks: number
  /** Their bytes. */
  blockBytes: number
  replication: number
  /** Copies every block has right now (fewer than `replication` when datanodes are short). */
  copies: number
  liveDatanodes: number
  /** Blocks the cluster already had, not sent again. */
  blocksSkipped: number
}

/**
 * Imports content, stores every block on its datanodes, indexes the DAG on
 * the namenode, and only then commits the pin. The result is returned only
 * after the pin is durable: a root printed by `cairn put` is never a promise.
 */
export async function put (ctx: ClientContext, source: ImportCandidateStream, options: PutOptions = {}): Promise<PutResult> {
  const replication = options.replication ?? DEFAULT_REPLICATION
  if (!Number.isSafeInteger(replication) || replication < 1 || replication > MAX_REPLICATION) {
    throw new InvalidArgumentError(`replication must be a whole number from 1 to ${MAX_REPLICATION}, not ${replication}`)
  }
  const signal = options.signal
  // names this put to the namenode, so gc spares what it has written before the pin commits
  const lease = randomUUID()
  const writer = new BlockWriter({
    lease,
    namenode: ctx.namenode,
    pool: ctx.pool,
    replication,
    ...(signal === undefined ? {} : { signal }),
    ...(options.onStored === undefined ? {} : { onStored: options.onStored }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning })
  })
  const summary = await importDag(source, writer, {
    profile: options.profile ?? DEFAULT_PROFILE,
    ...(signal === undefined ? {} : { signal })
  })
  const written = await writer.flush()
  for (const chunk of dagChunks(summary.dagNodes)) await ctx.namenode.dagPut(chunk, signal, lease)
  const pin = await ctx.namenode.pin({
    root: summary.root,
    replication,
    lease,
    ...(options.label === undefined ? {} : { label: options.label })
  }, signal)
  return {
    root: summary.root,
    blocks: summary.blocks,
    blockBytes: summary.blockBytes,
    replication,
    copies: pin.minReplicas,
    liveDatanodes: pin.liveDatanodes,
    blocksSkipped: written.blocksSkipped
  }
}

/** Splits DAG nodes into requests well under the frame limit. */
export function * dagChunks (nodes: DagNode[]): Generator<DagNode[]> {
  const limit = Math.floor(MAX_FRAME_BYTES / 2)
  let chunk: DagNode[] = []
  let bytes = 0
  for (const node of nodes) {
    const size = (node.bytes?.byteLength ?? 0) + 64
    if (chunk.length > 0 && (bytes + size > limit || chunk.length >= 4_096)) {
      yield chunk
      chunk = []
      bytes = 0
    }
    chunk.push(node)
    bytes += size
  }
  if (chunk.length > 0) yield chunk
}
