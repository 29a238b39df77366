import { CID } from 'multiformats/cid'
import { localError } from '../../core/index.ts'
import type { LocalFileError } from '../../core/index.ts'

/**
 * The first error standard output reported. A reader that went away
 * (EPIPE: `| head`) ends the output quietly, as cat does; any other (a full
 * disk behind `> file`) fails the command, or it would exit 0 having written
 * half of what it was asked for.
 */
let stdoutError: NodeJS.ErrnoException | undefined
let watching = false

/** Listens for errors on standard output from now on (once per process). */
export function watchStdout (): void {
  if (watching) return
  watching = true
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { stdoutError ??= err })
}

/** The error that should fail the command because writing its output failed, if any. */
export function stdoutFailure (): LocalFileError | undefined {
  if (stdoutError === undefined || stdoutError.code === 'EPIPE') return undefined
  return localError('standard output', stdoutError)
}

function throwIfStdoutFailed (): void {
  const failure = stdoutFailure()
  if (failure !== undefined) throw failure
}

/** JSON for scripts: CIDs as strings, bigints as numbers, one document per line. */
export function printJson (value: unknown): void {
  process.stdout.write(`${JSON.stringify(plain(value))}\n`)
}

/** CIDs have a toJSON of their own ({"/": ...}) that runs before any replacer, so convert first. */
function plain (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? Number(value) : value
  const cid = CID.asCID(value)
  if (cid !== null) return cid.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(plain)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function formatTable (rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, [...cell].length) })
  return rows.map((row) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

/**
 * Writes to stdout and waits when the pipe is full; resolves false if the
 * reader went away, throws if the output failed otherwise (stdoutFailure).
 */
export async function writeStdout (chunk: Uint8Array): Promise<boolean> {
  throwIfStdoutFailed()
  if (process.stdout.destroyed || stdoutError !== undefined) return false
  if (process.stdout.write(chunk)) return true
  const written = await new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      process.stdout.off('drain', onDrain)
      process.stdout.off('error', onError)
      resolve(ok)
    }
    const onDrain = (): void => { done(true) }
    const onError = (): void => { done(false) }
    process.stdout.once('drain', onDrain)
    process.stdout.once('error', onError)
  })
  throwIfStdoutFailed()
  return written
}

export function plural (n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}
