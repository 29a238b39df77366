/**
 * Signals this close after the first are the same interrupt arriving twice:
 * a terminal's Ctrl-C reaches every process of the foreground group, and
 * `cairn` (cli/bin.js) passes it on to the service it started as well.
 */
export const DUPLICATE_SIGNAL_MS = 500

/**
 * An AbortSignal that fires on the first Ctrl-C or SIGTERM, so commands stop
 * cleanly (closing connections, removing temp files). A second Ctrl-C exits
 * at once.
 */
export function interruptSignal (): { signal: AbortSignal, dispose: () => void } {
  const controller = new AbortController()
  let firstAt: number | undefined
  const onSignal = (): void => {
    if (firstAt === undefined) {
      firstAt = Date.now()
      controller.abort()
      return
    }
    if (Date.now() - firstAt >= DUPLICATE_SIGNAL_MS) process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
