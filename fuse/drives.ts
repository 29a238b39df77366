import type { PrivateKey } from '@libp2p/interface'
import { nameOfKey, parseName } from '../core/index.ts'
import type { Drive } from './drive.ts'

export interface DriveSetInit {
  /** The mounted name's drive, shown at the root. */
  main: Drive
  /** Its name (k51...). */
  mainName: string
  /** The keys this client holds; read again when a name is not among them (a key made after mounting). */
  keys?: () => Promise<PrivateKey[]>
  /** Opens the writable drive of another held key. */
  openDrive?: (key: PrivateKey) => Promise<Drive>
}

/** The held keys are read again at most this often (a key made after mounting shows up). */
const KEYS_REFRESH_MS = 2_000

/**
 * The drives of one mount: the mounted name's, and, under `ipns/`, one for
 * every other name whose key this client holds, opened on first use. A name
 * is writable wherever you can sign its records, as in Kubo's /ipns mount.
 * Each drive publishes its own name; a rename between two of them is a copy
 * across filesystems (EXDEV), which programs like mv already handle.
 */
export class DriveSet {
  readonly main: Drive
  private readonly init: DriveSetInit
  private held = new Map<string, PrivateKey>()
  private heldAtMs = 0
  private loading?: Promise<void>
  private readonly opened = new Map<string, Promise<Drive>>()
  /** Which drive each open handle belongs to (handles are unique across drives). */
  private readonly owners = new Map<number, Drive>()

  constructor (init: DriveSetInit) {
    this.init = init
    this.main = init.main
    this.opened.set(init.mainName, Promise.resolve(init.main))
  }

  /** The held names (k51...), the mounted one first. */
  async names (): Promise<string[]> {
    await this.refresh()
    return [this.init.mainName, ...[...this.held.keys()].filter((name) => name !== this.init.mainName)]
  }

  /** The drive of `text` (any form of an IPNS name), or undefined when its key is not held. */
  async forName (text: string): Promise<Drive | undefined> {
    let name: string
    try {
      name = parseName(text).text
    } catch {
      return undefined
    }
    const opened = this.opened.get(name)
    if (opened !== undefined) return await opened
    if (!this.held.has(name)) await this.refresh()
    const key = this.held.get(name)
    if (key === undefined || this.init.openDrive === undefined) return undefined
    const opening = this.init.openDrive(key)
    this.opened.set(name, opening)
    // a failed open (cluster unreachable) is tried again on the next lookup
    opening.catch(() => { this.opened.delete(name) })
    return await opening
  }

  /** Every drive opened so far. */
  async drives (): Promise<Drive[]> {
    const settled = await Promise.allSettled([...this.opened.values()])
    return settled.flatMap((s) => s.status === 'fulfilled' ? [s.value] : [])
  }

  track (fh: number, drive: Drive): number {
    this.owners.set(fh, drive)
    return fh
  }

  owner (fh: number): Drive | undefined {
    return this.owners.get(fh)
  }

  untrack (fh: number): void {
    this.owners.delete(fh)
  }

  /** Reads the held keys again, at most every KEYS_REFRESH_MS. */
  private async refresh (): Promise<void> {
    const { keys } = this.init
    if (keys === undefined || Date.now() - this.heldAtMs < KEYS_REFRESH_MS) return
    this.loading ??= (async () => {
      try {
        const held = new Map<string, PrivateKey>()
        for (const key of await keys()) held.set(nameOfKey(key.publicKey).text, key)
        this.held = held
        this.heldAtMs = Date.now()
      } finally {
        this.loading = undefined
      }
    })()
    await this.loading
  }
}
