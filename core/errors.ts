/**
 * Every error a user or another node can see is one of these classes. Each has
 * a stable `name` and `code` (callers match on those, never on the message)
 * and may carry a `hint`: what the user can do about it. Errors cross the wire
 * as `{ name, code, message, hint }` and are rebuilt into the same class on
 * the other side by `errorFromWire`, so `instanceof` works across processes.
 */

export interface WireError {
  name: string
  code: string
  message: string
  hint?: string
}

export interface CairnErrorOptions extends ErrorOptions {
  /** What the user can do about it, shown under the message by the CLI. */
  hint?: string
}

export class CairnError extends Error {
  static readonly code: string = 'ERR_CAIRN'
  override name = 'CairnError'
  readonly code: string
  readonly hint?: string

  constructor (message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = (this.constructor as typeof CairnError).code
    if (options.hint !== undefined) this.hint = options.hint
  }

  toWire (): WireError {
    const wire: WireError = { name: this.name, code: this.code, message: this.message }
    if (this.hint !== undefined) wire.hint = this.hint
    return wire
  }
}

/** A CID string that does not parse. */
export class InvalidCidError extends CairnError {
  static override readonly code = 'ERR_INVALID_CID'
  override name = 'InvalidCidError'
}

/** A path that is malformed (not a CID path, bad segments). */
export class InvalidPathError extends CairnError {
  static override readonly code = 'ERR_INVALID_PATH'
  override name = 'InvalidPathError'
}

/** An option or argument out of range or of the wrong kind. */
export class InvalidArgumentError extends CairnError {
  static override readonly code = 'ERR_INVALID_ARGUMENT'
  override name = 'InvalidArgumentError'
}

/** A path inside a DAG that does not exist. */
export class NotFoundError extends CairnError {
  static override readonly code = 'ERR_NOT_FOUND'
  override name = 'NotFoundError'
}

/** No reachable datanode holds a copy of the block. */
export class BlockNotFoundError extends CairnError {
  static override readonly code = 'ERR_BLOCK_NOT_FOUND'
  override name = 'BlockNotFoundError'
}

/** Bytes that do not hash to the CID they were stored or sent under. */
export class BlockCorruptError extends CairnError {
  static override readonly code = 'ERR_BLOCK_CORRUPT'
  override name = 'BlockCorruptError'
}

/** A block bigger than the protocol accepts. */
export class BlockTooLargeError extends CairnError {
  static override readonly code = 'ERR_BLOCK_TOO_LARGE'
  override name = 'BlockTooLargeError'
}

/** A CID whose hash function Cairn cannot verify. */
export class UnsupportedHashError extends CairnError {
  static override readonly code = 'ERR_UNSUPPORTED_HASH'
  override name = 'UnsupportedHashError'
}

/** The entry exists but is not a directory (ls on a file, a path through a file). */
export class NotADirectoryError extends CairnError {
  static override readonly code = 'ERR_NOT_DIRECTORY'
  override name = 'NotADirectoryError'
}

/** The entry exists but is not a file (cat on a directory). */
export class NotAFileError extends CairnError {
  static override readonly code = 'ERR_NOT_FILE'
  override name = 'NotAFileError'
}

/** A local file or directory that is missing or cannot be read or written. */
export class LocalFileError extends CairnError {
  static override readonly code = 'ERR_LOCAL_FILE'
  override name = 'LocalFileError'
}

/** The namenode did not answer in time, or the connection to it failed. */
export class NamenodeUnreachableError extends CairnError {
  static override readonly code = 'ERR_NAMENODE_UNREACHABLE'
  override name = 'NamenodeUnreachableError'
}

/** A datanode did not answer in time, or the connection to it failed. */
export class DatanodeUnreachableError extends CairnError {
  static override readonly code = 'ERR_DATANODE_UNREACHABLE'
  override name = 'DatanodeUnreachableError'
}

/** No live datanode can take or serve data. */
export class NoDatanodesError extends CairnError {
  static override readonly code = 'ERR_NO_DATANODES'
  override name = 'NoDatanodesError'
}

/** A datanode has no room for the block. */
export class DiskFullError extends CairnError {
  static override readonly code = 'ERR_DISK_FULL'
  override name = 'DiskFullError'
}

/** A pin was asked for whose DAG is not completely stored in the cluster. */
export class IncompleteDagError extends CairnError {
  static override readonly code = 'ERR_INCOMPLETE_DAG'
  override name = 'IncompleteDagError'
}

/** `pin rm` of a root that is not pinned. */
export class PinNotFoundError extends CairnError {
  static override readonly code = 'ERR_PIN_NOT_FOUND'
  override name = 'PinNotFoundError'
}

/** A configuration file or flag that fails validation. */
export class ConfigError extends CairnError {
  static override readonly code = 'ERR_CONFIG'
  override name = 'ConfigError'
}

/** No cluster configuration could be found for a client command. */
export class NoClusterError extends CairnError {
  static override readonly code = 'ERR_NO_CLUSTER'
  override name = 'NoClusterError'
}

/** A cluster key that is missing, malformed, or does not match the peer's. */
export class ClusterKeyError extends CairnError {
  static override readonly code = 'ERR_CLUSTER_KEY'
  override name = 'ClusterKeyError'
}

/** A peer sent something that breaks the protocol. */
export class ProtocolError extends CairnError {
  static override readonly code = 'ERR_PROTOCOL'
  override name = 'ProtocolError'
}

/** The peer does not know the method asked for (version skew). */
export class UnknownMethodError extends CairnError {
  static override readonly code = 'ERR_UNKNOWN_METHOD'
  override name = 'UnknownMethodError'
}

/** An operation that ran past its deadline. */
export class TimeoutError extends CairnError {
  static override readonly code = 'ERR_TIMEOUT'
  override name = 'TimeoutError'
}

/** An operation cancelled by its caller (Ctrl-C, an AbortSignal). */
export class AbortedError extends CairnError {
  static override readonly code = 'ERR_ABORTED'
  override name = 'AbortedError'
}

/** A data directory already in use by another process. */
export class DataDirLockedError extends CairnError {
  static override readonly code = 'ERR_DATA_DIR_LOCKED'
  override name = 'DataDirLockedError'
}

/** The connection carrying a request closed before the answer came. */
export class ConnectionClosedError extends CairnError {
  static override readonly code = 'ERR_CONNECTION_CLOSED'
  override name = 'ConnectionClosedError'
}

/** A bug: an invariant that should always hold did not. */
export class InternalError extends CairnError {
  static override readonly code = 'ERR_INTERNAL'
  override name = 'InternalError'
}

const byCode = new Map<string, typeof CairnError>()
for (const cls of [
  InvalidCidError, InvalidPathError, InvalidArgumentError, NotFoundError, BlockNotFoundError,
  BlockCorruptError, BlockTooLargeError, UnsupportedHashError, NotADirectoryError, NotAFileError,
  LocalFileError, NamenodeUnreachableError, DatanodeUnreachableError, NoDatanodesError,
  DiskFullError, IncompleteDagError, PinNotFoundError, ConfigError, NoClusterError,
  ClusterKeyError, ProtocolError, UnknownMethodError, TimeoutError, AbortedError,
  DataDirLockedError, ConnectionClosedError, InternalError
]) {
  byCode.set(cls.code, cls)
}

/** Register an error class defined outside this file so it survives the wire. */
export function registerErrorClass (cls: typeof CairnError): void {
  byCode.set(cls.code, cls)
}

/** Rebuild an error sent by a peer into its class (or a plain CairnError). */
export function errorFromWire (wire: WireError): CairnError {
  const cls = byCode.get(wire.code) ?? CairnError
  const err = new cls(wire.message, wire.hint === undefined ? {} : { hint: wire.hint })
  if (cls === CairnError) {
    // keep the remote's identity even when this side does not know the class
    err.name = wire.name
    ;(err as { code: string }).code = wire.code
  }
  return err
}

/** Turn anything thrown into something that can be sent to a peer. */
export function errorToWire (err: unknown): WireError {
  if (err instanceof CairnError) return err.toWire()
  const message = err instanceof Error ? err.message : String(err)
  return { name: 'InternalError', code: InternalError.code, message }
}

/** True when `err` is a CairnError with the given class's code. */
export function isCode (err: unknown, cls: typeof CairnError): boolean {
  return err instanceof CairnError && err.code === cls.code
}

/** The namenode is in safe mode and will not decide deletions or moves yet. */
export class SafeModeError extends CairnError {
  static override readonly code = 'ERR_SAFE_MODE'
  override name = 'SafeModeError'
}
registerErrorClass(SafeModeError)

/** A compare-and-swap lost: the name moved on since the writer read it. */
export class ConflictError extends CairnError {
  static override readonly code = 'ERR_CONFLICT'
  override name = 'ConflictError'
}
registerErrorClass(ConflictError)

/** An IPNS record that is malformed, badly signed, expired, too large, or stale. */
export class InvalidRecordError extends CairnError {
  static override readonly code = 'ERR_INVALID_RECORD'
  override name = 'InvalidRecordError'
}
registerErrorClass(InvalidRecordError)

/** A key name that is taken, or a key that cannot be read. */
export class KeyError extends CairnError {
  static override readonly code = 'ERR_KEY'
  override name = 'KeyError'
}
registerErrorClass(KeyError)

/** Something already exists where a new entry was to go (mkdir, create). */
export class AlreadyExistsError extends CairnError {
  static override readonly code = 'ERR_EXISTS'
  override name = 'AlreadyExistsError'
}
registerErrorClass(AlreadyExistsError)

/** A directory that still has entries (rm without --recursive). */
export class DirectoryNotEmptyError extends CairnError {
  static override readonly code = 'ERR_NOT_EMPTY'
  override name = 'DirectoryNotEmptyError'
}
registerErrorClass(DirectoryNotEmptyError)

/** A mount point that cannot be used (missing, not a directory, already mounted, not mounted). */
export class MountError extends CairnError {
  static override readonly code = 'ERR_MOUNT'
  override name = 'MountError'
}
registerErrorClass(MountError)
