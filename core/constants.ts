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
/**
 * Entries a get of a tree fetches and writes at once. A small file costs a
 * block round trip and a few local file operations, so one at a time leaves
 * the datanodes and the disk idle. 4,500 tiny files from 2 local datanodes
 * took ~5 s with 8, ~4.5 s with 16, ~3.7 s with 32, ~3.1 s with 64, and no
 * steadily less with 128 or 256; 64 also stays within what one datanode
 * serves at once (RPC_MAX_CONCURRENT_HANDLERS). Each entry holds at most a
 * block, so this bounds a tree of small files to 64 blocks in memory.
 */
export const GET_ENTRIES_IN_FLIGHT = 64
/**
 * Files of more than one block a get streams at once. Each reads up to
 * READ_AHEAD_BLOCKS ahead, so this bounds a tree of big files to about
 * 4 x 16 blocks whatever GET_ENTRIES_IN_FLIGHT is: 40 files of 8 MiB peaked
 * at ~237 MiB RSS with 4 and ~300 MiB with 32, in about the same time.
 */
export const GET_FILE_STREAMS = 4
/** Directory entries a get lists ahead of those it writes: the namenode locates them in one round trip. */
export const GET_LIST_AHEAD_ENTRIES = 1_024

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
