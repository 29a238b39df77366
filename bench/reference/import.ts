/**
 * The reference for `cairn put`: the ecosystem's importer into one local
 * blockstore-fs, one copy, no network, no fsync. Usage:
 *   node bench/reference/import.ts <file> <blockstore-dir>
 * Prints {"root","seconds","peakMemoryBytes"}; seconds cover the import only,
 * not Node's start-up (the parent measures the whole process).
 */
import { createReadStream } from 'node:fs'
import { FsBlockstore } from 'blockstore-fs'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'

const [file, storeDir] = process.argv.slice(2)
if (file === undefined || storeDir === undefined) {
  process.stderr.write('usage: import.ts <file> <blockstore-dir>\n')
  process.exit(2)
}

const store = new FsBlockstore(storeDir)
await store.open()
const started = performance.now()
let root: CID | undefined
const content = createReadStream(file, { highWaterMark: 1024 * 1024 })
for await (const entry of importer([{ content }], store, { profile: 'unixfs-v1-2025' })) root = entry.cid
const seconds = (performance.now() - started) / 1000
await store.close()
if (root === undefined) throw new Error('the importer yielded nothing')

process.stdout.write(`${JSON.stringify({ root: root.toString(), seconds, peakMemoryBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
