/**
 * The public surface of core/: contracts shared by every service (errors,
 * constants, protocol messages), content addressing (CIDs, UnixFS import and
 * read), the wire (RPC, channels, libp2p, the data channel), configuration,
 * and the client library the front ends use.
 */
export * from './errors.ts'
export * from './constants.ts'

export * from './content/cid.ts'
export * from './content/verify.ts'
export * from './content/links.ts'
export * from './content/profiles.ts'
export * from './content/import.ts'
export * from './content/local-source.ts'
export * from './content/read-file.ts'

export * from './protocol/messages.ts'
export * from './protocol/channel.ts'
export * from './protocol/rpc.ts'
export { encodeMessage, decodeMessage } from './protocol/codec.ts'
export * from './protocol/frame.ts'

export * from './net/libp2p.ts'
export * from './net/pnet.ts'
export * from './net/data-channel.ts'

export * from './util/format.ts'
export * from './util/lock.ts'
export * from './util/log.ts'
export * from './util/limit.ts'
export * from './protocol/validate.ts'
export { VERSION } from './version.ts'

export { CairnClient } from './client/client.ts'
export type { ClientInit } from './client/client.ts'
export type { PutOptions, PutResult } from './client/put.ts'
export type { GetOptions, GetResult } from './client/get.ts'
export type { CatOptions } from './client/cat.ts'
export type { LsOptions, ListedEntry } from './client/ls.ts'
export type { StatInfo } from './client/stat.ts'
export type { EntryInfo, EntryKind } from './client/resolve.ts'
export { shortId } from './client/datanode-pool.ts'
export * from './config/config.ts'
export * from './util/pool.ts'
export * from './util/malloc.ts'
export { DatanodePool } from './client/datanode-pool.ts'
export type { DatanodePoolInit } from './client/datanode-pool.ts'
export * from './naming/names.ts'
export * from './naming/records.ts'
export * from './naming/keystore.ts'
export { resolvePath, publish, currentRecord, normalizeValue, MAX_NAME_DEPTH } from './client/names.ts'
export type { PublishOptions, Published } from './client/names.ts'
export type { ClientContext } from './client/context.ts'
export { NameTree, segmentsOf } from './client/files.ts'
export type { NameTreeInit, TreeEntry, TreeEdit } from './client/files.ts'
export { resolveEntry, entryInfo, kindOfBlock } from './client/resolve.ts'
export { exporterStore } from './client/context.ts'
export * from './car/index.ts'
