/**
 * The `cairn` entry point. Every command loads a few hundred modules
 * (libp2p alone takes most of a second), and each CLI run is a new
 * process, so the compiled code is cached on disk (Node's compile cache,
 * in the OS temporary directory): it halves start-up from the second run
 * on. The cache must be on before the program's modules load, which
 * static imports would do first; hence the dynamic import.
 */
import module from 'node:module'

module.enableCompileCache?.()
const program = await import('./program.ts')

export const { buildProgram, main, run } = program

if (import.meta.main) await run()
