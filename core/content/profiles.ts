import type { ImporterOptions } from 'ipfs-unixfs-importer'
import { InvalidArgumentError } from '../errors.ts'

/**
 * CID profiles: the two of IPIP-499, and the settings of Kubo's
 * `ipfs add --cid-version=1` (the CIDv1 most existing content carries).
 * The same bytes under the same profile give the same CID in Cairn, Kubo
 * and Helia.
 */
export type ProfileName = 'unixfs-v1-2025' | 'unixfs-v0-2015' | 'kubo-cid-v1'

export interface Profile {
  name: ProfileName
  summary: string
  cidVersion: 0 | 1
  chunkBytes: number
  maxLinksPerNode: number
  rawLeaves: boolean
  /** When a directory becomes a HAMT: its links' bytes (Kubo's estimate) or its block's bytes past 256 KiB. */
  shardSplitStrategy: 'links-bytes' | 'block-bytes'
  /** The importer's built-in profile these settings start from. */
  importerProfile: 'unixfs-v1-2025' | 'unixfs-v0-2015'
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  'unixfs-v1-2025': {
    name: 'unixfs-v1-2025',
    summary: 'CIDv1, 1 MiB chunks, raw leaves, 1024 links per node, HAMT over 256 KiB of block bytes',
    cidVersion: 1,
    chunkBytes: 1024 * 1024,
    maxLinksPerNode: 1024,
    rawLeaves: true,
    shardSplitStrategy: 'block-bytes',
    importerProfile: 'unixfs-v1-2025'
  },
  'unixfs-v0-2015': {
    name: 'unixfs-v0-2015',
    summary: 'CIDv0, 256 KiB chunks, dag-pb leaves, 174 links per node (Kubo\'s historic default)',
    cidVersion: 0,
    chunkBytes: 256 * 1024,
    maxLinksPerNode: 174,
    rawLeaves: false,
    shardSplitStrategy: 'links-bytes',
    importerProfile: 'unixfs-v0-2015'
  },
  'kubo-cid-v1': {
    name: 'kubo-cid-v1',
    summary: 'CIDv1, 256 KiB chunks, raw leaves, 174 links per node (Kubo\'s ipfs add --cid-version=1)',
    cidVersion: 1,
    chunkBytes: 256 * 1024,
    maxLinksPerNode: 174,
    rawLeaves: true,
    shardSplitStrategy: 'links-bytes',
    importerProfile: 'unixfs-v0-2015'
  }
}

export const DEFAULT_PROFILE: ProfileName = 'unixfs-v1-2025'

export function profileByName (name: string): Profile {
  if (Object.hasOwn(PROFILES, name)) return PROFILES[name as ProfileName]
  throw new InvalidArgumentError(`unknown profile "${name}"`, {
    hint: `use one of: ${Object.keys(PROFILES).join(', ')}`
  })
}

/**
 * Importer options for a profile. A new object each call: the importer
 * writes into the options it is given.
 */
export function importerOptions (profile: ProfileName): ImporterOptions {
  const p = PROFILES[profile]
  return { profile: p.importerProfile, cidVersion: p.cidVersion, rawLeaves: p.rawLeaves }
}
