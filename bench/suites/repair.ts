/**
 * Time from a datanode's kill -9 to full replication, detection included,
 * with the default liveness settings (heartbeats every 3 s, dead after 30 s).
 * HDFS's defaults take 10.5 minutes just to notice a dead datanode.
 *
 * The services run as separate processes without `cairn up`, whose
 * supervisor would restart the killed datanode within a second.
 * BENCH_REPAIR_MIB sets the pinned data (default 1024).
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { ClusterReport } from '../../core/index.ts'
import { TestCluster } from '../../test/helpers/cluster.ts'
import { pseudoRandom } from '../../test/helpers/data.ts'
import type { Suite, SuiteContext } from '../lib/suite.ts'
import { renderTable } from '../lib/table.ts'
import { onCleanup } from '../lib/lifetime.ts'

const TARGET_SECONDS = 60

export const repairSuite: Suite = {
  name: 'repair',
  description: 'time from a datanode kill -9 to full replication (1 GiB pinned, replication 3, 4 datanodes)',
  run: async (ctx: SuiteContext) => {
    const mib = Number(process.env.BENCH_REPAIR_MIB ?? 1024)
    const cluster = await TestCluster.start({ datanodes: 4, heartbeatIntervalMs: 3_000, staleAfterMs: 10_000, deadAfterMs: 30_000 })
    onCleanup(async () => { await cluster.stop() })
    try {
      const file = path.join(cluster.dir, 'pinned.bin')
      const parts: Uint8Array[] = []
      for await (const part of pseudoRandom(mib * 1024 * 1024, `repair-${Date.now()}`)) parts.push(part)
      await writeFile(file, parts)
      parts.length = 0
      ctx.log(`repair: putting ${mib} MiB with replication 3`)
      const put = await cluster.cairn(['put', '-r', '3', file], { timeoutMs: 600_000 })
      if (put.code !== 0) throw new Error(`put failed: ${put.stderr}`)

      const report = async (): Promise<ClusterReport> => JSON.parse((await cluster.cairn(['report', '--json'])).stdout.toString()) as ClusterReport
      const before = await report()
      const victim = before.datanodes.find((d) => d.id === cluster.datanodeIds[1])
      ctx.log(`repair: killing datanode ${victim?.id ?? '?'} (${victim?.blocks ?? '?'} blocks)`)
      const killedAt = Date.now()
      await cluster.stopDatanode(1, 'SIGKILL')

      let deadAt: number | undefined
      let fullAt: number | undefined
      while (Date.now() - killedAt < 10 * 60_000) {
        const r = await report()
        const now = Date.now()
        if (deadAt === undefined && r.datanodes.some((d) => d.state === 'dead')) deadAt = now
        if (deadAt !== undefined && r.blocks.underReplicated === 0 && r.blocks.missing === 0 && r.blocks.pendingCopies === 0 && r.blocks.scannedMs >= deadAt) {
          fullAt = now
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      if (deadAt === undefined || fullAt === undefined) throw new Error('the cluster did not return to full replication within 10 minutes')
      const detect = (deadAt - killedAt) / 1000
      const repair = (fullAt - deadAt) / 1000
      const total = (fullAt - killedAt) / 1000
      const copied = victim?.blocks ?? 0
      ctx.print(renderTable({
        title: `repair: kill -9 of one of 4 datanodes holding ${mib} MiB pinned at replication 3`,
        head: ['figure', 'value'],
        rows: [
          ['detection (silence until declared dead)', `${detect.toFixed(1)} s`],
          ['re-replication after detection', `${repair.toFixed(1)} s (${copied} blocks, ${(copied * 1024 * 1024 / 1048576 / Math.max(repair, 0.001)).toFixed(0)} MiB/s)`],
          ['total, kill to full replication', `${total.toFixed(1)} s`],
          ['target', `< ${TARGET_SECONDS} s: ${total < TARGET_SECONDS ? 'met' : 'MISSED'} (HDFS needs 630 s just to notice)`]
        ],
        notes: ['defaults: heartbeat 3 s, stale after 10 s, dead after 30 s; repair copies stream datanode to datanode']
      }))
      return [`kill -9 to full replication of ${mib} MiB in ${total.toFixed(1)} s (target < ${TARGET_SECONDS} s: ${total < TARGET_SECONDS ? 'met' : 'MISSED'})`]
    } finally {
      await cluster.stop()
    }
  }
}
