// Types for cli/launch.js (plain JavaScript: cli/bin.js loads it on any Node).
export declare const SERVICE_NODE_FLAGS: readonly string[]
export declare const SERVICE_COMMANDS: ReadonlySet<string>
export declare const BULK_NODE_FLAGS: readonly string[]
export declare const BULK_COMMANDS: ReadonlySet<string>
export declare const SOURCE_ENTRY: string
export declare const BUNDLE_DIR: string
export declare const BUNDLE_ENTRY: string
export declare const BUNDLE_MANIFEST: string
export declare const MANIFEST_VERSION: number
export declare function commandName (args: readonly string[]): string | undefined
export declare function nodeFlagsFor (args: readonly string[]): string[]
export declare function bundleIsFresh (dir?: string, root?: string): boolean
export declare function cliEntry (): string
