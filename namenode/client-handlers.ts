import {
  DiskFullError, InvalidArgumentError, MAX_REPLICATION, NoDatanodesError, VERSION, asCid, asCids, asInteger,
  asObject, asOptionalString, asStrings, blockKey, blockLinks, isKnownCodec, mayHaveLinks, verifyBlock
} from '../core/index.ts'
import type {
  AllocateResult, ClusterReport, DatanodeAddress, Handlers, LocateResult, PinResult, PinsResult, StatResult
} from '../core/index.ts'
import type { CID } from 'multiformats/cid'
import type { Leases } from './leases.ts'
import { chooseTargets } from './placement.ts'
import { addPin, pinKey, removePin, statDag } from './pins.ts'
import type { ReplicationMonitor } from './replication.ts'
import type { SafeMode } from './safe-mode.ts'
import { infoOf, liveCopies } from './state.ts'
import type { NamenodeState } from './state.ts'

export interface ClientHandlerDeps {
  monitor: ReplicationMonitor
  leases: Leases
  safeMode: SafeMode
}

/** Nodes accepted in one dagPut: bounds the work and memory of one request. */
const MAX_DAG_NODES_PER_REQUEST = 4_096

/** A DAG node as the index keeps it: its CID and the CIDs it links to. */
export interface DagNode {
  cid: CID
  links: CID[]
}

/**
 * Reads DAG nodes (nn.dagPut's parameters, also carried by nn.namePut):
 * each node's links, from its bytes (checked against its CID). The lease,
 * if any, holds the nodes' blocks from gc from now on.
 */
export function readDagNodes (raw: unknown, leases: Leases): DagNode[] {
  const p = asObject(raw)
  if (!Array.isArray(p.nodes) || p.nodes.length > MAX_DAG_NODES_PER_REQUEST) {
    throw new InvalidArgumentError(`nodes must be a list of at most ${MAX_DAG_NODES_PER_REQUEST}`)
  }
  const nodes: DagNode[] = p.nodes.map((item: unknown, i: number) => {
    const node = asObject(item, `nodes[${i}]`)
    const cid = asCid(node.cid, `nodes[${i}].cid`)
    if (!mayHaveLinks(cid)) {
      throw new InvalidArgumentError(`nodes[${i}] (${cid}) has a codec without links; only linking nodes are indexed`)
    }
    if (node.bytes === undefined || node.bytes === null) return { cid, links: [] }
    if (!(node.bytes instanceof Uint8Array)) throw new InvalidArgumentError(`nodes[${i}].bytes is not bytes`)
    verifyBlock(cid, node.bytes, 'DAG node')
    return { cid, links: blockLinks(cid, node.bytes) }
  })
  const lease = asOptionalString(p.lease, 'lease')
  if (lease !== undefined) leases.hold(lease, nodes.map((n) => n.cid.multihash.bytes))
  return nodes
}

/** Indexes DAG nodes: their links, durably, so pins and names can walk them. */
export function indexDagNodes (state: NamenodeState, nodes: DagNode[]): void {
  state.store.putDagNodes(nodes)
  for (const node of nodes) state.dag.set(blockKey(node.cid), node.links)
}

/** The namenode's client protocol: where to write, where to read, pins, reports. */
export function clientHandlers (state: NamenodeState, deps: ClientHandlerDeps): Handlers {
  const { monitor, leases, safeMode } = deps
  return {
    'nn.allocate': (raw: unknown): AllocateResult => {
      const p = asObject(raw)
      const replication = asInteger(p.replication, 'replication', 1, MAX_REPLICATION)
      const count = asInteger(p.count ?? replication, 'count', 0, MAX_REPLICATION)
      const bytes = asInteger(p.bytes ?? 0, 'bytes')
      const cids = asCids(p.cids)
      const exclude = new Set(p.exclude === undefined ? [] : asStrings(p.exclude, 'exclude'))
      const lease = asOptionalString(p.lease, 'lease')
      if (lease !== undefined) leases.hold(lease, cids.map((cid) => cid.multihash.bytes))
      const live = state.registry.writable()
      if (live.length === 0) {
        throw new NoDatanodesError('no datanode is alive', {
          hint: 'start datanodes (cairn up starts three), then check cairn report'
        })
      }
      const targets = chooseTargets({
        candidates: live.map((r) => ({ id: r.id, availableBytes: r.usage.availableBytes, activeTransfers: r.activeTransfers, ...(r.rack === undefined ? {} : { rack: r.rack }) })),
        count,
        bytes,
        exclude
      })
      if (targets.length === 0 && count > 0 && live.some((r) => !exclude.has(r.id))) {
        throw new DiskFullError('every live datanode is too full for this data', {
          hint: 'add datanodes or free space on them (cairn report shows what is left)'
        })
      }
      return {
        targets: targets.map((t) => state.registry.address(state.registry.get(t.id) as NonNullable<ReturnType<typeof state.registry.get>>)),
        // copies gc has ordered deleted may vanish under a put that relied on them: send those again
        present: cids.map((cid) => liveCopies(state, infoOf(state, cid)) >= replication && !monitor.isCondemned(cid.multihash.bytes)),
        liveDatanodes: live.length
      }
    },

    'nn.locate': (raw: unknown): LocateResult => {
      const cids = asCids(asObject(raw).cids)
      const datanodes: DatanodeAddress[] = []
      const slot = new Map<number, number>()
      const where = cids.map((cid) => {
        const entry = infoOf(state, cid)
        if (entry === undefined) return []
        const holders = entry.replicas
          .map((index) => state.registry.at(index))
          .filter((r) => r !== undefined && state.registry.stateOf(r) !== 'dead')
          // live before stale: a stale datanode may be on its way out
          .sort((a, b) => Number(state.registry.stateOf(a!) !== 'live') - Number(state.registry.stateOf(b!) !== 'live'))
        return holders.map((record) => {
          let at = slot.get(record!.index)
          if (at === undefined) {
            at = datanodes.length
            datanodes.push(state.registry.address(record!))
            slot.set(record!.index, at)
          }
          return at
        })
      })
      // a pinned block with no copy left is known, and lost: not "never stored"
      const known = cids.map((cid) => infoOf(state, cid) !== undefined || state.dag.has(blockKey(cid)))
      return { datanodes, where, known }
    },

    'nn.dagPut': (raw: unknown): null => {
      indexDagNodes(state, readDagNodes(raw, leases))
      return null
    },

    'nn.pin': (raw: unknown): PinResult => {
      const p = asObject(raw)
      const root = asCid(p.root, 'root')
      if (!isKnownCodec(root)) {
        throw new InvalidArgumentError(`${root} uses codec 0x${root.code.toString(16)}, which Cairn cannot pin`)
      }
      const label = asOptionalString(p.label, 'label')
      const { result, blocks } = addPin(state, {
        root,
        replication: asInteger(p.replication, 'replication', 1, MAX_REPLICATION),
        ...(label === undefined ? {} : { label })
      })
      // the monitor looks at the pin's blocks next round, not at every block
      for (const cid of blocks) {
        monitor.pardon(cid.multihash.bytes)
        monitor.touch(cid.multihash.bytes)
      }
      const lease = asOptionalString(p.lease, 'lease')
      if (lease !== undefined) leases.release(lease)
      state.log.info(`pinned ${root} (${result.blocks} blocks, replication ${result.replication}, fewest copies now ${result.minReplicas})`)
      return result
    },

    // `root`: just that pin (or none), so asking after one pin is not O(pins)
    'nn.pins': (raw: unknown): PinsResult => {
      const root = asObject(raw ?? {}).root
      if (root === undefined || root === null) return { pins: [...state.pins.values()] }
      const pin = state.pins.get(pinKey(asCid(root, 'root')))
      return { pins: pin === undefined ? [] : [pin] }
    },

    'nn.unpin': (raw: unknown): null => {
      const pin = removePin(state, asCid(asObject(raw).root, 'root'))
      monitor.rescan()
      state.log.info(`unpinned ${pin.root}`)
      return null
    },

    'nn.stat': (raw: unknown): StatResult => statDag(state, asCid(asObject(raw).cid, 'cid')),

    'nn.report': (): ClusterReport => report(state, monitor, safeMode),

    'nn.badReplica': (raw: unknown): null => {
      const p = asObject(raw)
      const cid = asCid(p.cid, 'cid')
      const record = state.registry.get(String(p.datanode))
      if (record !== undefined && state.blocks.hasReplica(cid.multihash.bytes, record.index)) {
        // not believed until the datanode has checked its copy again
        state.blocks.removeReplica(cid.multihash.bytes, record.index)
        monitor.replicaRemoved(cid.multihash.bytes, record.index)
        monitor.verify(record.index, cid)
        state.log.warn(`a client got bad bytes for ${cid} from datanode ${record.id}; not counted until it re-checks its copy`)
      }
      return null
    }
  }
}

function report (state: NamenodeState, monitor: ReplicationMonitor, safeMode: SafeMode): ClusterReport {
  const datanodes = state.registry.all().map((r) => {
    const dn = state.registry.report(r)
    const toMove = monitor.toMove.get(r.index)
    if (r.admin === 'decommissioning' && toMove !== undefined) dn.blocksToMove = toMove
    return dn
  })
  let capacityBytes = 0
  let usedBytes = 0
  let availableBytes = 0
  for (const dn of datanodes) {
    if (dn.state === 'dead') continue
    capacityBytes += dn.capacityBytes
    usedBytes += dn.usedBytes
    availableBytes += dn.admin === 'normal' ? dn.availableBytes : 0
  }
  // copies that count (as copiesOf sorts them): on datanodes not dead, in normal service
  let replicas = 0
  for (const r of state.registry.all()) {
    if (r.admin === 'normal' && state.registry.stateOf(r) !== 'dead') replicas += state.blocks.copiesOn(r.index)
  }
  const c = monitor.counts
  return {
    namenode: { id: state.id, addrs: state.addrs(), startedMs: state.startedMs, version: VERSION },
    capacityBytes,
    usedBytes,
    availableBytes,
    datanodes,
    blocks: {
      total: state.blocks.storedBlocks,
      replicas,
      pinned: c.pinned,
      underReplicated: c.underReplicated,
      overReplicated: c.overReplicated,
      misplaced: c.misplaced,
      missing: c.missing,
      corrupt: c.corrupt,
      pendingCopies: monitor.pendingCopies,
      scannedMs: monitor.lastScanMs
    },
    pins: state.pins.size,
    safeMode: safeMode.status()
  }
}
