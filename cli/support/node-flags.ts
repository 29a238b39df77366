/**
 * Node options every service starts with: `cairn up` forks its services
 * with them, and the `cairn` command (cli/bin.js) re-runs a service command
 * (`cairn datanode`, `cairn mount`, ...) with them. They must be given when
 * the process starts: V8 sizes its heap then, setting them later has no
 * effect (measured), and NODE_OPTIONS refuses them. `node cli/main.ts
 * datanode` goes without: slower, the same otherwise.
 *
 * `--initial-old-space-size`: a service's live heap is small (about 30 MB
 * for a datanode) while blocks pass through it as external memory, so V8's
 * limits, computed from the live heap and shrunk further by its memory
 * reducer once idle, let a 256 MiB put trigger 3-24 full mark-compacts on a
 * datanode. Starting the old generation at 128 MB keeps them to 0-1.
 * Measured (2026-11-25, two hand-started datanodes in one cluster, every
 * put stored on both, six 256 MiB puts, then again with the flag on the
 * other one): 0.88-1.28 CPU-seconds per put with it, 1.17-1.78 without;
 * resident memory the same (about 350 MB).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128']

/** Commands that run until stopped, and start with SERVICE_NODE_FLAGS. */
export const SERVICE_COMMANDS: ReadonlySet<string> = new Set(['namenode', 'datanode', 'up', 'mount', 'gateway'])
