import { importer } from 'ipfs-unixfs-importer'
import type { ImportCandidateStream } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { InternalError, InvalidArgumentError } from '../errors.ts'
import { blockKey } from './cid.ts'
import { blockLinks } from './links.ts'
import { DEFAULT_PROFILE, importerOptions } from './profiles.ts'
import type { ProfileName } from './profiles.ts'

/** Where imported blocks go. `put` may wait: that is how the importer is slowed to the network's pace. */
export interface BlockSink {
  put (cid: CID, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<unknown>
}

/**
 * A non-raw block of the DAG. The namenode indexes DAG structure from these:
 * `bytes` is present when the block links to others (so the namenode can
 * verify and decode it), absent for link-less nodes such as v0 leaves.
 */
export interface DagNode {
  cid: CID
  bytes?: Uint8Array
}

export interface ImportInit {
  /** Default DEFAULT_PROFILE (unixfs-v1-2025). */
  profile?: ProfileName
  signal?: AbortSignal
  /** Files imported at once. Default 4: each holds up to `blockWriteConcurrency` chunks. */
  fileImportConcurrency?: number
  /** Chunks of one file hashed and written at once. Default 8. */
  blockWriteConcurrency?: number
}

export interface ImportSummary {
  root: CID
  dagNodes: DagNode[]
  /** Distinct blocks in the DAG. */
  blocks: number
  /** Bytes of those distinct blocks. */
  blockBytes: number
}

/**
 * Builds UnixFS DAGs with the ecosystem's importer (so CIDs equal Kubo's for
 * the same profile) and hands each block to `sink` once. The root is the last
 * entry the importer yields: the file itself, or the top directory.
 */
export async function importDag (source: ImportCandidateStream, sink: BlockSink, init: ImportInit = {}): Promise<ImportSummary> {
  const seen = new Set<string>()
  const dagNodes: DagNode[] = []
  let blockBytes = 0
  const signal = init.signal

  const store = {
    async put (cid: CID, bytes: Uint8Array): Promise<CID> {
      signal?.throwIfAborted()
      const key = blockKey(cid)
      // the importer writes repeated chunks (zero-filled regions) once each time they occur
      if (seen.has(key)) return cid
      seen.add(key)
      blockBytes += bytes.byteLength
      if (cid.code !== raw.code) {
        dagNodes.push(blockLinks(cid, bytes).length > 0 ? { cid, bytes } : { cid })
      }
      await sink.put(cid, bytes, signal === undefined ? {} : { signal })
      return cid
    }
  }

  const options = {
    ...importerOptions(init.profile ?? DEFAULT_PROFILE),
    fileImportConcurrency: init.fileImportConcurrency ?? 4,
    blockWriteConcurrency: init.blockWriteConcurrency ?? 8
  }
  let root: CID | undefined
  for await (const entry of importer(source, store, options)) {
    root = entry.cid
  }
  if (root === undefined) throw new InvalidArgumentError('nothing to import')
  if (!seen.has(blockKey(root))) throw new InternalError(`importer yielded root ${root} without storing it`)
  return { root, dagNodes, blocks: seen.size, blockBytes }
}
