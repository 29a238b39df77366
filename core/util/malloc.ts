import { createRequire } from 'node:module'
import path from 'node:path'
import { packageRoot } from './package-root.ts'

/** glibc settings for long-running processes (see native/malloc-tuning.c). */
export interface MallocTuning {
  /** Free memory at the top of the heap kept rather than returned to the kernel. */
  trimThresholdBytes: number
  /** Extra memory asked of the kernel each time the heap grows. */
  topPadBytes: number
  /** Allocations at least this big get their own mapping (freed at once); smaller ones come from the heap. */
  mmapThresholdBytes: number
}

/**
 * For services and mounts, which receive every block into a fresh 1 MiB
 * buffer: blocks and their read-ahead come from the heap and their memory
 * is reused rather than faulted in anew (the gateway moved 256 MiB at
 * 0.74x of `cairn get` without this and faster than it with it). Bounded:
 * at most `trimThresholdBytes` of freed memory is kept.
 */
export const SERVICE_MALLOC: MallocTuning = {
  trimThresholdBytes: 64 * 1024 * 1024,
  topPadBytes: 16 * 1024 * 1024,
  mmapThresholdBytes: 4 * 1024 * 1024
}

/**
 * Applies `tuning` with mallopt, through the addon `npm install` builds
 * (native/build/malloc-tuning.node). Returns false where it is not there
 * (no compiler at install time, not Linux): the process then runs on
 * glibc's defaults, slower and otherwise the same. MALLOC_* variables set
 * by hand win: nothing is changed then.
 */
export function tuneMalloc (tuning: MallocTuning = SERVICE_MALLOC): boolean {
  if (Object.keys(process.env).some((name) => name.startsWith('MALLOC_') || name === 'GLIBC_TUNABLES')) return false
  const root = packageRoot(import.meta.url)
  if (root === undefined) return false
  let addon: { tuneMalloc: (trim: number, pad: number, mmap: number) => boolean }
  try {
    addon = createRequire(import.meta.url)(path.join(root, 'native', 'build', 'malloc-tuning.node')) as typeof addon
  } catch {
    return false
  }
  return addon.tuneMalloc(tuning.trimThresholdBytes, tuning.topPadBytes, tuning.mmapThresholdBytes)
}
