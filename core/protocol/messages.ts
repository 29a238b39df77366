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
  | { kind: 'delete', cids: CID[] }

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
}

export interface PinParams {
  root: CID
  replication: number
  /** A human label shown by `pin ls` (the file name put). */
  label?: string
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

export interface DatanodeReport extends DatanodeUsage {
  id: string
  addrs: string[]
  data?: { host: string, port: number }
  rack?: string
  state: DatanodeState
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
    /** Pinned blocks with fewer live copies than wanted. */
    underReplicated: number
    /** Pinned blocks with no live copy. */
    missing: number
  }
  pins: number
}

/** A client tells the namenode a datanode served bytes that do not match the CID. */
export interface BadReplicaParams {
  cid: CID
  datanode: string
}
