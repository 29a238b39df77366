import { InvalidArgumentError, asInteger, asObject, asOptionalString, asString, parseName, MAX_REPLICATION } from '../core/index.ts'
import type { Handlers, NameHistoryEntry, NameRecord } from '../core/index.ts'
import { readDagNodes } from './client-handlers.ts'
import type { Leases } from './leases.ts'
import type { NameRegistry } from './names.ts'
import type { ReplicationMonitor } from './replication.ts'

/**
 * The naming protocol: publish (with compare-and-swap), resolve, history.
 * A publish may carry the new value's DAG nodes; they are indexed with the
 * record, in one commit (NameRegistry.put).
 */
export function nameHandlers (names: NameRegistry, monitor: ReplicationMonitor, leases: Leases): Handlers {
  return {
    'nn.namePut': async (raw: unknown): Promise<NameRecord> => {
      const p = asObject(raw)
      if (!(p.record instanceof Uint8Array)) throw new InvalidArgumentError('record is not bytes')
      const nodes = p.nodes === undefined || p.nodes === null ? undefined : readDagNodes({ nodes: p.nodes, lease: p.lease }, leases)
      const expect = asOptionalString(p.expect, 'expect')
      const replication = p.replication === undefined || p.replication === null ? undefined : asInteger(p.replication, 'replication', 1, MAX_REPLICATION)
      const { record, raised } = await names.put({
        name: parseName(asString(p.name, 'name')),
        record: p.record,
        ...(expect === undefined ? {} : { expect }),
        ...(replication === undefined ? {} : { replication }),
        ...(nodes === undefined ? {} : { nodes })
      })
      const lease = asOptionalString(p.lease, 'lease')
      if (lease !== undefined) leases.release(lease)
      // the monitor looks at what the publish changed, not at every block
      for (const cid of raised) monitor.touch(cid.multihash.bytes)
      return record
    },
    'nn.nameGet': (raw: unknown): NameRecord => names.get(asString(asObject(raw).name, 'name')),
    'nn.nameHistory': (raw: unknown): { entries: NameHistoryEntry[] } => {
      const p = asObject(raw)
      return { entries: names.history(asString(p.name, 'name'), asInteger(p.limit ?? 100, 'limit', 1, 100_000)) }
    },
    'nn.names': (): { names: NameRecord[] } => ({ names: names.list() })
  }
}
