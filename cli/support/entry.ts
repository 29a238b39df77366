import { SOURCE_ENTRY } from '../launch.js'

let entry: string | undefined

/**
 * Records the file this process runs Cairn from: cli/main.ts, or the bundle
 * (cli/launch.js picks). Set by main.ts before anything else loads.
 */
export function setCliEntry (file: string): void {
  entry = file
}

/** What `cairn up` forks its services from, so they run the very code it runs. */
export function cliEntryOfThisProcess (): string {
  return entry ?? SOURCE_ENTRY
}
