import { createReadStream } from 'node:fs'
import { CarBlockIterator } from '@ipld/car/iterator'
import type { CID } from 'multiformats/cid'
import { BlockCorruptError, InvalidArgumentError, LocalFileError } from '../errors.ts'
import { blockLinks, mayHaveLinks } from '../content/links.ts'
import { hashMatches } from '../content/verify.ts'
import type { Block } from './walk.ts'

/** What a first pass over CAR files found: every block verified, nothing stored yet. */
export interface CarScan {
  roots: CID[]
  /** Distinct blocks (by CID) and their bytes. */
  blocks: number
  bytes: number
  /** The links of every linking block present, by CID string. */
  links: Map<string, CID[]>
  present: Set<string>
}

/** Blocks of a CAR file in file order. Throws a readable error when the file is not a CAR. */
export async function * carBlocks (file: string, onRoots?: (roots: CID[]) => void): AsyncGenerator<Block> {
  let iterator: CarBlockIterator
  try {
    iterator = await CarBlockIterator.fromIterable(createReadStream(file))
  } catch (err) {
    throw notACar(file, err)
  }
  onRoots?.(await iterator.getRoots())
  try {
    for await (const block of iterator) yield { cid: block.cid as CID, bytes: block.bytes }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== undefined && (err as NodeJS.ErrnoException).syscall !== undefined) throw err
    throw notACar(file, err)
  }
}

/**
 * Reads every block of the CARs and checks it hashes to its CID and decodes
 * as its codec says, before anything is stored: a CAR with one bad block is
 * refused whole.
 */
export async function scanCars (files: string[], signal?: AbortSignal): Promise<CarScan> {
  const scan: CarScan = { roots: [], blocks: 0, bytes: 0, links: new Map(), present: new Set() }
  for (const file of files) {
    for await (const { cid, bytes } of carBlocks(file, (roots) => { scan.roots.push(...roots) })) {
      signal?.throwIfAborted()
      if (!hashMatches(cid, bytes)) {
        throw new BlockCorruptError(`${file}: block ${cid} does not match its hash; nothing was imported`, {
          hint: 'the CAR is damaged or was altered; fetch it again from its source'
        })
      }
      const key = cid.toString()
      if (scan.present.has(key)) continue
      scan.present.add(key)
      scan.blocks++
      scan.bytes += bytes.byteLength
      if (mayHaveLinks(cid)) scan.links.set(key, blockLinks(cid, bytes))
    }
  }
  const unique = new Map(scan.roots.map((r) => [r.toString(), r]))
  scan.roots = [...unique.values()]
  return scan
}

/** The blocks below `root` that the scanned CARs do not hold (at most `limit`). */
export function missingBelow (scan: CarScan, root: CID, limit = 100): CID[] {
  const missing: CID[] = []
  const seen = new Set<string>()
  const stack = [root]
  while (stack.length > 0 && missing.length < limit) {
    const cid = stack.pop() as CID
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    if (cid.multihash.code === 0) continue
    if (!scan.present.has(key)) {
      missing.push(cid)
      continue
    }
    for (const link of scan.links.get(key) ?? []) stack.push(link)
  }
  return missing
}

function notACar (file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new LocalFileError(`cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  return new InvalidArgumentError(`${file} is not a valid CARv1 file: ${(err as Error).message}`, {
    cause: err,
    hint: 'check the file is a CAR (cairn export and ipfs dag export write them)'
  })
}
