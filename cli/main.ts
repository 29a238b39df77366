/**
 * The `cairn` entry point, run as it is (TypeScript) or bundled into
 * dist/cairn.js (scripts/build-bundle.mjs; cli/launch.js picks which). From
 * the sources every command loads some 880 modules (libp2p alone takes most
 * of a second), so their compiled code is cached on disk (Node's compile
 * cache, in the OS temporary directory). The cache must be on before the
 * program's modules load, which static imports would do first; hence the
 * dynamic import.
 */
import module from 'node:module'
import { fileURLToPath } from 'node:url'
import { setCliEntry } from './support/entry.ts'

module.enableCompileCache?.()
setCliEntry(fileURLToPath(import.meta.url))
const program = await import('./program.ts')

export const { buildProgram, main, run } = program

if (import.meta.main) await run()
