import pkg from '../package.json' with { type: 'json' }

/** The running Cairn version, sent at registration so mixed versions are visible. */
export const VERSION: string = pkg.version
