import { addAbortSignal } from 'node:stream'
import type { Readable } from 'node:stream'
import { AbortedError, CairnClient, clientSettings } from '../../core/index.ts'
import type { ClientSettings } from '../../core/index.ts'
import { interruptSignal } from './signals.ts'

export interface GlobalOptions {
  config?: string
}

export interface ClientRun {
  client: CairnClient
  settings: ClientSettings
  signal: AbortSignal
}

/**
 * Loads the cluster configuration, connects, runs `fn`, and always closes
 * the connection, also on Ctrl-C (which aborts `signal`).
 */
export async function withClient<T> (globals: GlobalOptions, fn: (run: ClientRun) => Promise<T>): Promise<T> {
  const settings = await clientSettings(globals.config)
  const interrupt = interruptSignal()
  try {
    const client = await CairnClient.connect({
      namenode: settings.namenode,
      clusterKey: settings.clusterKey,
      signal: interrupt.signal,
      onReplicaError: (cid, datanode, err) => {
        if (process.env.CAIRN_LOG === 'debug') process.stderr.write(`cairn: copy of ${cid} on ${datanode} failed (${err.message}); trying another\n`)
      }
    })
    try {
      return await fn({ client, settings, signal: interrupt.signal })
    } finally {
      await client.close()
    }
  } catch (err) {
    // after Ctrl-C, whatever the stopped work threw (an AbortError from a library, a closed
    // connection, a read that says it was cancelled) is the interruption, not a failure to report
    if (interrupt.signal.aborted && !(err instanceof AbortedError && err.message === 'interrupted')) throw new AbortedError('interrupted', { cause: err })
    throw err
  } finally {
    interrupt.dispose()
  }
}

/**
 * Standard input as a content source that Ctrl-C ends: a read waiting on
 * stdin (a pipe with nothing in it yet) otherwise never sees the signal.
 */
export function stdinUntil (signal: AbortSignal): Readable {
  return addAbortSignal(signal, process.stdin)
}
