import {
  AbortedError, AlreadyExistsError, ConflictError, DirectoryNotEmptyError, InvalidRecordError, KeyError, BlockCorruptError, BlockNotFoundError, BlockTooLargeError, CairnError, ClusterKeyError, ConfigError,
  DataDirLockedError, DatanodeUnreachableError, DiskFullError, IncompleteDagError, InvalidArgumentError,
  InvalidCidError, InvalidPathError, LocalFileError, MountError, NamenodeUnreachableError, NoClusterError, NoDatanodesError,
  NotADirectoryError, NotAFileError, NotFoundError, PinNotFoundError, ProtocolError, SafeModeError, TimeoutError,
  UnsupportedHashError
} from '../../core/index.ts'

/** Exit codes, one per kind of failure, so scripts can tell them apart. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  unavailable: 4,
  integrity: 5,
  noSpace: 6,
  /** A compare-and-swap lost: someone else changed the name first. */
  conflict: 7,
  interrupted: 130
} as const

const TABLE: Array<[typeof CairnError, number]> = [
  [InvalidCidError, EXIT.usage],
  [InvalidPathError, EXIT.usage],
  [InvalidArgumentError, EXIT.usage],
  [ConfigError, EXIT.usage],
  [NoClusterError, EXIT.usage],
  [ClusterKeyError, EXIT.usage],
  [NotADirectoryError, EXIT.usage],
  [NotAFileError, EXIT.usage],
  [NotFoundError, EXIT.notFound],
  [PinNotFoundError, EXIT.notFound],
  [LocalFileError, EXIT.notFound],
  [NamenodeUnreachableError, EXIT.unavailable],
  [DatanodeUnreachableError, EXIT.unavailable],
  [NoDatanodesError, EXIT.unavailable],
  [BlockNotFoundError, EXIT.unavailable],
  [TimeoutError, EXIT.unavailable],
  [DataDirLockedError, EXIT.unavailable],
  [SafeModeError, EXIT.unavailable],
  [BlockCorruptError, EXIT.integrity],
  [IncompleteDagError, EXIT.integrity],
  [UnsupportedHashError, EXIT.integrity],
  [ProtocolError, EXIT.integrity],
  [BlockTooLargeError, EXIT.integrity],
  [DiskFullError, EXIT.noSpace],
  [ConflictError, EXIT.conflict],
  [InvalidRecordError, EXIT.integrity],
  [KeyError, EXIT.usage],
  [AlreadyExistsError, EXIT.usage],
  [DirectoryNotEmptyError, EXIT.usage],
  [MountError, EXIT.usage],
  [AbortedError, EXIT.interrupted]
]

export function exitCodeOf (err: unknown): number {
  if (err instanceof CairnError) {
    for (const [cls, code] of TABLE) if (err.code === cls.code) return code
  }
  return EXIT.failure
}

/**
 * One message and a hint for the user; the stack only with CAIRN_LOG=debug,
 * since a stack trace tells a user nothing they can act on.
 */
export function printError (err: unknown): void {
  const debug = process.env.CAIRN_LOG === 'debug'
  if (err instanceof CairnError) {
    process.stderr.write(`cairn: error: ${err.message}\n`)
    if (err.hint !== undefined) process.stderr.write(`hint: ${err.hint}\n`)
    if (debug && err.stack !== undefined) process.stderr.write(`${err.stack}\n`)
    return
  }
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`cairn: error: ${message}\n`)
  process.stderr.write(debug && err instanceof Error && err.stack !== undefined
    ? `${err.stack}\n`
    : 'hint: this looks like a bug in Cairn; run again with CAIRN_LOG=debug for details and report it\n')
}
