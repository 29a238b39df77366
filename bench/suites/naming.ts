/**
 * Naming latency on a local cluster, measured in-process through the client
 * library (no process start-up): publish (read the current record, sign,
 * store durably on the namenode) and resolve (fetch the record, verify its
 * signature), p50 and p99; and small edits per second through `files write`
 * (store a small file, rebuild the path to the root, publish with CAS).
 * Kubo's IPNS over the DHT takes seconds to minutes for each.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CairnClient, NameTree, nameOfKey, readClusterKey } from '../../core/index.ts'
import { TestCluster } from '../../test/helpers/cluster.ts'
import { onCleanup } from '../lib/lifetime.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'

const PUBLISHES = 300
const RESOLVES = 2_000
const EDITS = 100

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

export const namingSuite: Suite = {
  name: 'naming',
  description: 'IPNS publish and resolve latency, and small edits per second through files write',
  run: async (ctx: SuiteContext) => {
    const cluster = await TestCluster.start({ datanodes: 2 })
    onCleanup(async () => { await cluster.stop() })
    const client = await CairnClient.connect({ namenode: cluster.namenodeAddress, clusterKey: await readClusterKey(cluster.keyFile) })
    try {
      const roots = await Promise.all(['one', 'two'].map(async (text) => (await client.put([{ content: new TextEncoder().encode(text) }], { replication: 2 })).root))
      const key = await generateKeyPair('Ed25519')
      const name = nameOfKey(key.publicKey).text

      ctx.log(`naming: ${PUBLISHES} publishes`)
      const publish: number[] = []
      for (let i = 0; i < PUBLISHES; i++) {
        const start = performance.now()
        await client.publish(key, { value: `/ipfs/${(roots[i % 2] as (typeof roots)[number]).toString()}` })
        publish.push(performance.now() - start)
      }
      ctx.log(`naming: ${RESOLVES} resolves`)
      const resolve: number[] = []
      for (let i = 0; i < RESOLVES; i++) {
        const start = performance.now()
        await client.resolve(`/ipns/${name}`)
        resolve.push(performance.now() - start)
      }
      ctx.log(`naming: ${EDITS} small edits`)
      const tree = new NameTree(client.context, { key: await generateKeyPair('Ed25519'), replication: 2 })
      const editStart = performance.now()
      for (let i = 0; i < EDITS; i++) await tree.write(`/notes/${i % 10}.txt`, [{ content: new TextEncoder().encode(`edit ${i}`) }], { parents: true })
      const editsPerSec = EDITS * 1000 / (performance.now() - editStart)

      const ms = (v: number): string => `${v.toFixed(2)} ms`
      ctx.print(renderTable({
        title: 'naming: latency on a local cluster (2 datanodes), in-process client',
        head: ['figure', 'p50', 'p99', 'target'],
        rows: [
          ['resolve /ipns/<name> (fetch + verify signature)', ms(percentile(resolve, 0.5)), ms(percentile(resolve, 0.99)), `p50 < 2 ms: ${percentile(resolve, 0.5) < 2 ? 'met' : 'MISSED'}`],
          ['publish (read, sign, durable store, pin check)', ms(percentile(publish, 0.5)), ms(percentile(publish, 0.99)), `p50 < 10 ms: ${percentile(publish, 0.5) < 10 ? 'met' : 'MISSED'}`],
          ['files write, small edits', `${editsPerSec.toFixed(1)} edits/s`, '', '']
        ],
        notes: [`${RESOLVES} resolves, ${PUBLISHES} publishes, ${EDITS} edits (each: store a file at replication 2, rebuild the path to the root, publish with CAS)`]
      }))
      return [
        `resolve p50 ${ms(percentile(resolve, 0.5))} (target < 2 ms), publish p50 ${ms(percentile(publish, 0.5))} (target < 10 ms), ${editsPerSec.toFixed(1)} small edits/s`
      ]
    } finally {
      await client.close()
      await cluster.stop()
    }
  }
}
