export const MiB = 1024 * 1024

export function toMiB (bytes: number): number {
  return bytes / MiB
}

/** MiB per second, from a byte count and seconds. */
export function mibPerSecond (bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / MiB / seconds : Number.POSITIVE_INFINITY
}
