import type { ImporterOptions } from 'ipfs-unixfs-importer'
import { InvalidArgumentError } from '../errors.ts'

/**
 * The IPIP-499 CID profiles. The same bytes under the same profile give the
 * same CID in Cairn, Kubo and Helia.
 */
export type ProfileName = 'unixfs-v1-2025' | 'unixfs-v0-2015'

export interface Profile {
  name: ProfileName
  summary: string
  cidVersion: 0 | 1
  chunkBytes: number
  maxLinksPerNode: number
  rawLeaves: boolean
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  'unixfs-v1-2025': {
    name: 'unixfs-v1-2025',
    summary: 'CIDv1, 1 MiB chunks, raw leaves, 1024 links per node, HAMT over 256 KiB of block bytes',
    cidVersion: 1,
    chunkBytes: 1024 * 1024,
    maxLinksPerNode: 1024,
    rawLeaves: true
  },
  'unixfs-v0-2015': {
    name: 'unixfs-v0-2015',
    summary: 'CIDv0, 256 KiB chunks, dag-pb leaves, 174 links per node (Kubo\'s historic default)',
    cidVersion: 0,
    chunkBytes: 256 * 1024,
    maxLinksPerNode: 174,
    rawLeaves: false
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
  return { profile }
}
