/**
 * An AbortSignal that fires on the first Ctrl-C or SIGTERM, so commands stop
 * cleanly (closing connections, removing temp files). A second Ctrl-C exits
 * at once.
 */
export function interruptSignal (): { signal: AbortSignal, dispose: () => void } {
  const controller = new AbortController()
  let count = 0
  const onSignal = (): void => {
    count++
    if (count > 1) process.exit(130)
    controller.abort()
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
