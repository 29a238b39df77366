import { CairnError } from '../core/index.ts'

/**
 * HTTP status for every error a request can meet, by error name (Cairn's
 * classes and the UnixFS exporter's, which share a few names). One table,
 * as the CLI has one for exit codes.
 */
const STATUS: Record<string, number> = {
  InvalidCidError: 400,
  InvalidPathError: 400,
  InvalidArgumentError: 400,
  BadRequestError: 400,
  NotFoundError: 404,
  PinNotFoundError: 404,
  NotADirectoryError: 404,
  BadPathError: 404,
  NotAcceptableError: 406,
  RangeNotSatisfiableError: 416,
  NoResolverError: 501,
  UnsupportedHashError: 501,
  BlockNotFoundError: 502,
  BlockCorruptError: 502,
  DatanodeUnreachableError: 502,
  NamenodeUnreachableError: 502,
  NoDatanodesError: 502,
  ConnectionClosedError: 502,
  ProtocolError: 502,
  NotUnixFSError: 502,
  SafeModeError: 503,
  TimeoutError: 504
}

export function statusOf (err: unknown): number {
  const name = (err as Error | undefined)?.name
  return name === undefined ? 500 : STATUS[name] ?? 500
}

/** A request the gateway cannot serve as asked (a format, a header). */
export class BadRequestError extends CairnError {
  static override readonly code = 'ERR_BAD_REQUEST'
  override name = 'BadRequestError'
}

export class NotAcceptableError extends CairnError {
  static override readonly code = 'ERR_NOT_ACCEPTABLE'
  override name = 'NotAcceptableError'
}

/** What to tell the client: the message and hint, never a stack. */
export function describe (err: unknown): { message: string, hint?: string } {
  if (err instanceof CairnError) return err.hint === undefined ? { message: err.message } : { message: err.message, hint: err.hint }
  const message = (err as Error | undefined)?.message ?? String(err)
  return statusOf(err) === 500 ? { message: 'internal error', hint: 'see the gateway\'s log' } : { message }
}
