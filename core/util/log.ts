/**
 * Services log one line per event to stderr: time, component, message.
 * Quiet by default for clients; CAIRN_LOG=debug shows everything.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export interface Logger {
  debug (message: string): void
  info (message: string): void
  warn (message: string): void
  error (message: string, err?: unknown): void
  child (component: string): Logger
}

export function createLogger (component: string, level: LogLevel = envLevel() ?? 'info'): Logger {
  const write = (at: LogLevel, message: string): void => {
    if (ORDER[at] < ORDER[level]) return
    const time = new Date().toISOString()
    process.stderr.write(`${time} ${at.padEnd(5)} ${component}: ${message}\n`)
  }
  return {
    debug: (m) => { write('debug', m) },
    info: (m) => { write('info', m) },
    warn: (m) => { write('warn', m) },
    error: (m, err) => {
      const detail = err === undefined ? '' : `: ${err instanceof Error ? (level === 'debug' ? err.stack ?? err.message : err.message) : String(err)}`
      write('error', `${m}${detail}`)
    },
    child: (sub) => createLogger(`${component}:${sub}`, level)
  }
}

/** A logger that drops everything (clients, tests). */
export const silentLogger: Logger = {
  debug () {},
  info () {},
  warn () {},
  error () {},
  child () { return silentLogger }
}

function envLevel (): LogLevel | undefined {
  const value = process.env.CAIRN_LOG
  return value !== undefined && value in ORDER ? value as LogLevel : undefined
}
