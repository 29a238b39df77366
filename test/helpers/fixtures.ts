import { fileURLToPath } from 'node:url'

/**
 * Interop vectors made by Kubo (from the IPFS gateway conformance suite,
 * v0.13.2; see INDEX.md there), copied into the repo so tests never depend
 * on anything outside it.
 */
export const KUBO_FIXTURES = fileURLToPath(new URL('../fixtures/kubo/', import.meta.url))
