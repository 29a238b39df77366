/**
 * Limits and defaults in one place. Every queue, cache and concurrency level
 * in Cairn is bounded by one of these, named with its unit last.
 */

/** Protocol ids, versioned so a mixed-version cluster fails loudly. */
export const NAMENODE_PROTOCOL = '/cairn/namenode/1.0.0'
export const BLOCK_PROTOCOL = '/cairn/block/1.0.0'
/** ALPN-like tag the TLS data channel checks before speaking the block protocol. */
export const DATA_CHANNEL_TAG = 'cairn-block/1.0.0'

/** Largest block Cairn stores or moves (Kubo's bitswap limit is 2 MiB too). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024
/** Largest protocol frame: a block plus its header, or a chunk of a report. */
export const MAX_FRAME_BYTES = MAX_BLOCK_BYTES + 64 * 1024
/** CIDs per block-report or locate message, so no frame nears the limit. */
export const MAX_CIDS_PER_MESSAGE = 16_384

/** Replication factor when a put does not say. */
export const DEFAULT_REPLICATION = 3
/** Upper bound on a replication factor a user may ask for. */
export const MAX_REPLICATION = 16

/** Requests one RPC peer serves at once; further frames wait unread (backpressure). */
export const RPC_MAX_CONCURRENT_HANDLERS = 64
/** Default deadline for a control-plane request. */
export const RPC_TIMEOUT_MS = 15_000
/** How long a client waits to connect to the namenode before saying it is unreachable. */
export const CONNECT_TIMEOUT_MS = 5_000

/** Client write path: blocks are sent to datanodes in batches of about this size. */
export const WRITE_BATCH_BYTES = 8 * 1024 * 1024
/** ...or of at most this many blocks, whichever comes first. */
export const WRITE_BATCH_BLOCKS = 256
/** Bytes of sealed batches a put may hold in memory while they replicate. */
export const WRITE_IN_FLIGHT_BYTES = 32 * 1024 * 1024
/** Attempts to find a replacement when a target datanode fails mid-batch. */
export const WRITE_TARGET_RETRIES = 3

/** Client read path: blocks fetched ahead of the reader. */
export const READ_AHEAD_BLOCKS = 16
/** Locations kept in the client's cache (CID -> datanodes). */
export const LOCATION_CACHE_ENTRIES = 65_536

/** Datanode: heartbeat period, and how long before a silent datanode is stale or dead. */
export const HEARTBEAT_INTERVAL_MS = 3_000
export const STALE_AFTER_MS = 10_000
export const DEAD_AFTER_MS = 30_000
/** Datanode: bytes of disk left free for the rest of the system. */
export const DATANODE_RESERVED_BYTES = 256 * 1024 * 1024
/** Datanode: concurrent file writes/fsyncs per connection. */
export const DATANODE_IO_CONCURRENCY = 16

/** Default namenode port for a standalone `cairn namenode`. */
export const DEFAULT_NAMENODE_PORT = 4740
/** Default number of datanodes `cairn up` starts. */
export const DEFAULT_DATANODE_COUNT = 3
