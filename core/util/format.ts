import { InvalidArgumentError } from '../errors.ts'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** 1536 -> "1.5 KiB" */
export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes)) return '?'
  let value = Math.abs(bytes)
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  const sign = bytes < 0 ? '-' : ''
  return unit === 0 ? `${sign}${value} B` : `${sign}${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`
}

/** "10GiB", "512 MiB", "1.5G", "1024" -> bytes */
export function parseBytes (text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(text)
  if (match === null) {
    throw new InvalidArgumentError(`"${text}" is not a size`, { hint: 'write a size like 512MiB, 10GiB or 1048576' })
  }
  const scale = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[(match[2] ?? '').toLowerCase() as '' | 'k'] ?? 0
  return Math.round(Number(match[1]) * 1024 ** scale)
}

/** 75_000 -> "1m15s" */
export function formatDuration (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}

/** "30s", "5m", "1500ms", "2h" -> milliseconds */
export function parseDuration (text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (match === null) {
    throw new InvalidArgumentError(`"${text}" is not a duration`, { hint: 'write a duration like 500ms, 30s, 5m or 2h' })
  }
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms']
  return Math.round(Number(match[1]) * factor)
}
