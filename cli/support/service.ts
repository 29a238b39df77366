import { createLogger } from '../../core/index.ts'
import { DUPLICATE_SIGNAL_MS } from './signals.ts'

export interface Service {
  stop (): Promise<void>
}

/** Longest a service may take to stop before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000

/**
 * Keeps a started service running until SIGINT or SIGTERM, or until the
 * `cairn up` that started it goes away (its IPC channel closes), then stops
 * it cleanly. Tells a supervising `cairn up` when it is ready.
 */
export async function runUntilStopped (name: string, service: Service, ready: Record<string, unknown>): Promise<void> {
  const log = createLogger(name)
  const supervised = process.send !== undefined && process.connected
  if (supervised) process.send?.({ event: 'ready', ...ready })
  await new Promise<void>((resolve) => {
    let stopping = false
    const stop = (why: string): void => {
      if (stopping) return
      stopping = true
      log.info(`stopping (${why})`)
      // the same signal may arrive twice (see DUPLICATE_SIGNAL_MS); one after that ends the process at once
      setTimeout(() => {
        process.off('SIGINT', onInt)
        process.off('SIGTERM', onTerm)
      }, DUPLICATE_SIGNAL_MS).unref()
      resolve()
    }
    const onInt = (): void => { stop('interrupt') }
    const onTerm = (): void => { stop('terminate') }
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    // an orphaned service of a killed `cairn up` must not run on alone
    if (supervised) process.once('disconnect', () => { stop('cairn up went away') })
  })
  const timer = setTimeout(() => {
    log.warn(`did not stop within ${STOP_TIMEOUT_MS} ms; exiting anyway`)
    process.exit(1)
  }, STOP_TIMEOUT_MS)
  timer.unref()
  await service.stop()
  clearTimeout(timer)
  log.info('stopped')
}
