import { randomUUID } from 'node:crypto'
import path from 'node:path'
import type { CID } from 'multiformats/cid'
import { DEFAULT_REPLICATION } from '../constants.ts'
import { IncompleteDagError, isCode } from '../errors.ts'
import { mayHaveLinks } from '../content/links.ts'
import { isIdentity } from '../content/verify.ts'
import type { DagNode } from '../content/import.ts'
import { BlockWriter } from '../client/block-writer.ts'
import type { ClientContext } from '../client/context.ts'
import { dagChunks } from '../client/put.ts'
import { carBlocks, missingBelow, scanCars } from './scan.ts'

export interface CarImportInit {
  /** Copies wanted. Default DEFAULT_REPLICATION. */
  replication?: number
  /** Shown by `pin ls`. Default: the CAR file's name. */
  label?: string
  signal?: AbortSignal
  /** Bytes stored so far (all copies). */
  onStored?: (bytes: number) => void
  onWarning?: (message: string) => void
}

export interface ImportedRoot {
  root: CID
  pinned: boolean
  /** Blocks below the root that neither the CARs nor the cluster hold (up to 100). */
  missing: CID[]
}

export interface CarImportResult {
  roots: ImportedRoot[]
  /** Distinct blocks in the CARs, and their bytes. */
  blocks: number
  bytes: number
  /** Blocks the cluster already had enough copies of. */
  blocksSkipped: number
  replication: number
}

/**
 * Imports CAR files: a first pass verifies every block (a bad one refuses
 * the whole import before anything is stored), a second stores the blocks
 * at the replication asked for, indexes the linking ones, and pins each
 * root whose DAG is complete in the cluster. A root missing blocks is not
 * pinned, since the namenode could never keep it healthy: its blocks are
 * stored unpinned (gc takes them after its grace period unless a later
 * import completes the DAG), and the result lists what is missing.
 */
export async function importCars (ctx: ClientContext, files: string[], init: CarImportInit = {}): Promise<CarImportResult> {
  const replication = init.replication ?? DEFAULT_REPLICATION
  const signal = init.signal
  const scan = await scanCars(files, signal)

  const lease = randomUUID()
  const writer = new BlockWriter({
    lease,
    namenode: ctx.namenode,
    pool: ctx.pool,
    replication,
    ...(signal === undefined ? {} : { signal }),
    ...(init.onStored === undefined ? {} : { onStored: init.onStored }),
    ...(init.onWarning === undefined ? {} : { onWarning: init.onWarning })
  })
  const stored = new Set<string>()
  const dagNodes: DagNode[] = []
  for (const file of files) {
    for await (const { cid, bytes } of carBlocks(file)) {
      const key = cid.toString()
      if (stored.has(key) || isIdentity(cid)) continue
      stored.add(key)
      if (mayHaveLinks(cid)) dagNodes.push((scan.links.get(key)?.length ?? 0) > 0 ? { cid, bytes } : { cid })
      await writer.put(cid, bytes)
    }
  }
  const written = await writer.flush()
  for (const chunk of dagChunks(dagNodes)) await ctx.namenode.dagPut(chunk, signal, lease)

  const roots: ImportedRoot[] = []
  for (const root of scan.roots) {
    try {
      await ctx.namenode.pin({ root, replication, lease, label: init.label ?? labelOf(files) }, signal)
      roots.push({ root, pinned: true, missing: [] })
    } catch (err) {
      if (!isCode(err, IncompleteDagError)) throw err
      roots.push({ root, pinned: false, missing: await stillMissing(ctx, missingBelow(scan, root), signal) })
    }
  }
  return { roots, blocks: scan.blocks, bytes: scan.bytes, blocksSkipped: written.blocksSkipped, replication }
}

/** Of the blocks the CARs lack, those the cluster does not have either. */
async function stillMissing (ctx: ClientContext, candidates: CID[], signal?: AbortSignal): Promise<CID[]> {
  if (candidates.length === 0) return []
  const located = await ctx.namenode.locate(candidates, signal)
  return candidates.filter((_, i) => (located.where[i]?.length ?? 0) === 0)
}

function labelOf (files: string[]): string {
  return files.map((f) => path.basename(f)).join(',').slice(0, 200)
}
