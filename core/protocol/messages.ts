import type { CID } from 'multiformats/cid'

/**
 * The shapes of every protocol message, shared by the namenode, the
 * datanodes and the client (which never import each other). Methods are
 * grouped by who serves them: `block.*` by datanodes, `dn.*` (from datanodes)
 * and `nn.*` (from clients) by the namenode.
 */

/** How to reach a datanode. */
export interface DatanodeAddress {
  /** libp2p peer id: the datanode's stable identity. */
  id: string
  /** libp2p multiaddrs, with /p2p/<id>. */
  addrs: string[]
  /** The TLS data channel, when the datanode offers one. */
  data?: { host: string, port: number }
}

export interface DatanodeUsage {
  /** Bytes of the filesystem holding the blocks. */
  capacityBytes: number
  /** Bytes Cairn may still write (free space less the reserve). */
  availableBytes: number
  /** Bytes of blocks stored. */
  usedBytes: number
  blocks: number
}

// ---- block protocol: served by datanodes ----

export interface BlockPutParams { cid: CID }
export interface BlockPutResult { stored: boolean }
export interface BlockGetParams { cid: CID }
export interface BlockGetResult { size: number }
export interface BlockHasParams { cids: CID[] }
export interface BlockHasResult { has: boolean[] }
export interface BlockDeleteParams { cids: CID[] }
export interface BlockDeleteResult { deleted: number }
/** Makes every block put on this channel durable and reported to the namenode. */
export interface BlockSyncResult { blocks: number }

// ---- datanode -> namenode ----

export interface RegisterParams extends DatanodeUsage {
  datanode: DatanodeAddress
  /** Failure-domain label (rack, zone); copies go to distinct labels where possible. */
  rack?: string
  version: string
}
export interface RegisterResult {
  namenodeId: string
  heartbeatIntervalMs: number
}

export interface HeartbeatParams extends DatanodeUsage {
  id: string
  /** Transfers in progress, for placement. */
  activeTransfers: number
}

/** Work the namenode hands a datanode in a heartbeat reply. */
export type DatanodeCommand =
  | { kind: 'replicate', cid: CID, targets: DatanodeAddress[] }
  /** `gc`: unpinned blocks; the datanode keeps any it was sent again lately (a put is reusing it). */
  | { kind: 'delete', cids: CID[], gc?: boolean }
  /** Re-read and check these blocks (a client saw bad bytes from this datanode). */
  | { kind: 'verify', cids: CID[] }

export interface HeartbeatResult {
  /** The namenode does not know this datanode (it restarted): register and report again. */
  reregister: boolean
  commands: DatanodeCommand[]
}

/** One part of a full block report; `last` closes it. Sizes align with cids. */
export interface BlockReportParams {
  id: string
  part: number
  last: boolean
  cids: CID[]
  sizes: number[]
}

/** Incremental report: blocks that arrived. */
export interface BlocksReceivedParams {
  id: string
  cids: CID[]
  sizes: number[]
}

export interface BlocksDeletedParams {
  id: string
  cids: CID[]
}

/** Replies to block reports carry work too, so repair keeps moving between heartbeats. */
export interface ReportResult {
  commands: DatanodeCommand[]
}

// ---- client -> namenode ----

export interface AllocateParams {
  replication: number
  /** Bytes each target must have room for (the batch's size). */
  bytes: number
  /** The batch's blocks, so the namenode can say which are already stored well enough. */
  cids: CID[]
  /** Datanodes not to choose (they failed this batch). */
  exclude?: string[]
  /** How many targets to choose; default `replication`. */
  count?: number
  /** The put this batch belongs to: its blocks are safe from gc until the pin commits or the lease lapses. */
  lease?: string
}
export interface AllocateResult {
  targets: DatanodeAddress[]
  /** Aligned with the request's cids: already on `replication` live datanodes. */
  present: boolean[]
  liveDatanodes: number
}

export interface LocateParams { cids: CID[] }
export interface LocateResult {
  /** Datanodes referred to by index in `where`. */
  datanodes: DatanodeAddress[]
  /** Aligned with the request's cids: indexes into `datanodes`, best first. */
  where: number[][]
  /** Aligned with the request's cids: false when no datanode ever reported the block. */
  known: boolean[]
}

export interface DagPutParams {
  /** Non-raw blocks: with bytes when they link to others. */
  nodes: Array<{ cid: CID, bytes?: Uint8Array }>
  lease?: string
}

export interface PinParams {
  root: CID
  replication: number
  /** A human label shown by `pin ls` (the file name put). */
  label?: string
  /** The put's lease, released once the pin commits. */
  lease?: string
}

export interface PinInfo {
  root: CID
  replication: number
  label?: string
  createdMs: number
  blocks: number
  bytes: number
}

export interface PinResult extends PinInfo {
  /** The fewest live copies any block of the DAG has right now. */
  minReplicas: number
  liveDatanodes: number
}

export interface PinsResult { pins: PinInfo[] }
export interface UnpinParams { root: CID }

export interface StatParams { cid: CID }
export interface StatResult {
  /** `direct`: a pin's root; `indirect`: inside a pinned DAG; `none`: may be collected. */
  pinned: 'direct' | 'indirect' | 'none'
  /** Copies the pins want of this block (0 when not pinned). */
  want: number
  /** Known DAG below this CID (from the namenode's index). */
  blocks: number
  bytes: number
  /** Live copies: the fewest and most of any block. */
  minReplicas: number
  maxReplicas: number
  /** Blocks with no live copy. */
  missing: number
  /** False when part of the DAG is not in the namenode's index. */
  complete: boolean
}

export type DatanodeState = 'live' | 'stale' | 'dead'
/** Operator state: a decommissioning datanode's copies are moved away, then it is safe to remove. */
export type DatanodeAdminState = 'normal' | 'decommissioning' | 'decommissioned'

export interface DatanodeReport extends DatanodeUsage {
  id: string
  addrs: string[]
  data?: { host: string, port: number }
  rack?: string
  state: DatanodeState
  admin: DatanodeAdminState
  /** While decommissioning: pinned blocks that still need copies elsewhere. */
  blocksToMove?: number
  /** Milliseconds since the last heartbeat. */
  lastContactMs: number
  registeredMs: number
}

export interface ClusterReport {
  namenode: { id: string, addrs: string[], startedMs: number, version: string }
  capacityBytes: number
  usedBytes: number
  availableBytes: number
  datanodes: DatanodeReport[]
  blocks: {
    /** Distinct blocks the cluster stores. */
    total: number
    /** Copies of them. */
    replicas: number
    /** Pinned blocks. */
    pinned: number
    /** Pinned blocks with fewer good copies than wanted. */
    underReplicated: number
    overReplicated: number
    /** Every copy on one rack while more racks exist. */
    misplaced: number
    /** Pinned blocks with no readable copy. */
    missing: number
    /** Pinned blocks whose every remaining copy was found corrupt. */
    corrupt: number
    /** Copies being made right now. */
    pendingCopies: number
    /** When these counts were last brought up to date (every monitor round). */
    scannedMs: number
  }
  pins: number
  safeMode: SafeModeStatus
}

export interface SafeModeStatus {
  on: boolean
  /** Why it is on, or how it ended. */
  reason: string
  /** Pinned blocks with a reported copy, over all pinned blocks. */
  reported: number
  pinned: number
  threshold: number
  manual: boolean
}

export interface FsckParams {
  /** A pin's root, or any CID in the cluster; absent: every pin. */
  root?: CID
  /** A pin's label instead of a root. */
  label?: string
  /** Problem blocks listed at most. Default 100. */
  maxProblems?: number
  /**
   * Blocks looked at, at most, over every pin (default: no limit). A pin
   * that does not fit in what is left is listed unchecked, so a page that
   * shows a few pins does not walk the whole cluster on every view.
   */
  maxBlocks?: number
  /** Pins listed at most (default: every one). */
  maxPins?: number
}

/** Counters per replication health state, as fsck and the namenode's monitor keep them. */
export interface HealthTally {
  healthy: number
  underReplicated: number
  overReplicated: number
  misplaced: number
  missing: number
  corrupt: number
}

export interface FsckCounts extends HealthTally {
  blocks: number
  bytes: number
}

export interface FsckPin extends FsckCounts {
  root: CID
  label?: string
  replication: number
  status: 'HEALTHY' | 'CORRUPT'
  /** Not looked at: maxBlocks ran out first (its counts are zero). */
  unchecked?: boolean
}

export interface FsckProblem {
  cid: CID
  pin: CID
  health: string
  want: number
  copies: number
  /** Where the readable copies are. */
  datanodes: string[]
}

export interface FsckResult {
  status: 'HEALTHY' | 'CORRUPT'
  total: FsckCounts
  pins: FsckPin[]
  problems: FsckProblem[]
  datanodes: { live: number, stale: number, dead: number, decommissioning: number }
  safeMode: boolean
  /** Some pins were left unchecked or unlisted (maxBlocks, maxPins): the totals cover the checked ones only. */
  partial?: boolean
}

export interface GcParams {
  /** Only count what would go. */
  dryRun?: boolean
}

export interface GcResult {
  /** Unpinned blocks scheduled for deletion (or that would be, on a dry run). */
  blocks: number
  bytes: number
  copies: number
  /** Unpinned blocks kept because a put in progress wrote them or they are too fresh. */
  protected: number
}

export interface BalanceParams {
  /** Allowed spread, in percentage points of capacity used, around the mean. Default 10. */
  thresholdPercent?: number
  /** Bytes to move in this run at most. Default 10 GiB. */
  maxBytes?: number
}

export interface BalanceResult {
  /** Moves planned now. */
  planned: number
  bytes: number
  /** Moves still in flight from this or earlier runs. */
  inFlight: number
  /** Percent of capacity used per datanode, by id. */
  utilization: Record<string, number>
  balanced: boolean
}

export interface DecommissionParams {
  /** Datanode id, or an unambiguous prefix or suffix of it. */
  datanode: string
}

export interface DecommissionResult {
  id: string
  admin: DatanodeAdminState
  blocksToMove: number
}

/** A client tells the namenode a datanode served bytes that do not match the CID. */
export interface BadReplicaParams {
  cid: CID
  datanode: string
}

// ---- names (IPNS records) ----

export interface NamePutParams {
  /** k51... */
  name: string
  /** The marshalled IPNS record. */
  record: Uint8Array
  /** Compare-and-swap: the value the writer read (`''` for a name without a record). */
  expect?: string
  replication?: number
  /** The lease the writer stored the new blocks under, released once the name points to them. */
  lease?: string
  /** DAG nodes to index first, as nn.dagPut does (the new value's nodes: one round trip instead of two). */
  nodes?: DagPutParams['nodes']
}

export interface NameRecord {
  name: string
  record: Uint8Array
  value: string
  sequence: bigint
  replication: number
  updatedMs: number
}

export interface NameHistoryEntry {
  sequence: bigint
  value: string
  publishedMs: number
}
