/**
 * The reference for `cairn get`: the ecosystem's exporter reading one local
 * blockstore-fs, writing the file with backpressure. Usage:
 *   node bench/reference/export.ts <root-cid> <blockstore-dir> <out-file>
 * Prints {"seconds","peakMemoryBytes","bytes"}; seconds cover the export only.
 */
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { FsBlockstore } from 'blockstore-fs'
import { exporter } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'

const [rootText, storeDir, out] = process.argv.slice(2)
if (rootText === undefined || storeDir === undefined || out === undefined) {
  process.stderr.write('usage: export.ts <root-cid> <blockstore-dir> <out-file>\n')
  process.exit(2)
}

const store = new FsBlockstore(storeDir)
await store.open()
const started = performance.now()
const entry = await exporter(CID.parse(rootText), store)
if (entry.type !== 'file' && entry.type !== 'raw') throw new Error(`${rootText} is a ${entry.type}, not a file`)
const output = createWriteStream(out)
await pipeline(entry.content(), output)
const seconds = (performance.now() - started) / 1000
await store.close()

process.stdout.write(`${JSON.stringify({ seconds, peakMemoryBytes: process.resourceUsage().maxRSS * 1024, bytes: output.bytesWritten })}\n`)
