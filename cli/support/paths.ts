import path from 'node:path'
import { Keystore, parseContentPath, parseName } from '../../core/index.ts'
import type { ClientSettings } from '../../core/index.ts'

/** The keystore beside the cluster configuration (`.cairn/keys`). */
export function keystoreOf (settings: Pick<ClientSettings, 'configFile'>): Keystore {
  return new Keystore(path.join(path.dirname(settings.configFile), 'keys'))
}

/**
 * Lets a user write a local key's name where an IPNS name goes:
 * `/ipns/self/notes` means the name of the key `self`.
 */
export async function expandKeyNames (text: string, keystore: Keystore): Promise<string> {
  const match = /^(\/ipns\/|ipns:\/\/)([^/@]+)(.*)$/.exec(text.trim())
  if (match === null) return text
  const [, prefix = '', candidate = '', rest = ''] = match
  try {
    parseName(candidate)
    return text
  } catch {}
  try {
    const info = await keystore.info(candidate)
    return `${prefix}${info.name.text}${rest}`
  } catch {
    return text
  }
}

/** Catches a malformed CID or path before connecting to anything (names are checked when resolved). */
export function precheckPath (text: string): void {
  const trimmed = text.trim()
  if (trimmed.startsWith('/ipns/') || trimmed.startsWith('ipns://')) return
  parseContentPath(trimmed)
}
