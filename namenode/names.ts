import { CID } from 'multiformats/cid'
import { ConflictError, InvalidRecordError, NotFoundError, blockKey, parseName, validateRecord } from '../core/index.ts'
import type { Name, NameHistoryEntry, NameRecord } from '../core/index.ts'
import { raiseWants, verifyDag } from './pins.ts'
import type { NamenodeState } from './state.ts'
import type { StoredName } from './store.ts'

export interface PutNameInit {
  name: Name
  record: Uint8Array
  /** The value the writer read; refused if the name points elsewhere now. `''`: the name must be new. */
  expect?: string
  /** Copies of the content. Default: the name's current replication, or 3. */
  replication?: number
  /** DAG nodes of the new value not indexed yet: indexed if the publish is taken, in the record's commit. */
  nodes?: Array<{ cid: CID, links: CID[] }>
}

export interface PutNameResult {
  record: NameRecord
  /**
   * The blocks whose wanted copies this publish may have raised, for the
   * replication monitor to look at: the change for an update, the whole
   * DAG for a new name or a higher replication.
   */
  raised: CID[]
}

interface Entry extends StoredName {
  history: NameHistoryEntry[]
}

/**
 * The authoritative IPNS record store: for every name, the newest valid
 * record, a bounded history of the values it had, and pins on the content
 * so what a name points to (now, and lately) is kept at the name's
 * replication. A record is refused unless it is signed by the name's key,
 * not expired, within 10 KiB, a well-formed path, and newer (a strictly
 * higher sequence) than the one stored. `expect` makes a publish a
 * compare-and-swap, which editors use so two writers never silently undo
 * each other.
 */
export class NameRegistry {
  private readonly state: NamenodeState
  private readonly historyLimit: number
  private readonly entries = new Map<string, Entry>()
  /** Writes to one name are serialized: validation is async and must see the latest record. */
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor (state: NamenodeState, historyLimit: number) {
    this.state = state
    this.historyLimit = historyLimit
  }

  load (): void {
    for (const stored of this.state.store.names()) this.entries.set(keyOf(stored.key), { ...stored, history: [] })
    for (const h of this.state.store.history()) {
      this.entries.get(keyOf(h.key))?.history.push({ sequence: h.sequence, value: h.value, publishedMs: h.publishedMs })
    }
  }

  get size (): number {
    return this.entries.size
  }

  async put (init: PutNameInit): Promise<PutNameResult> {
    const key = keyOf(init.name.bytes)
    const previous = this.queues.get(key) ?? Promise.resolve()
    const run = previous.catch(() => {}).then(async () => await this.putNow(init))
    this.queues.set(key, run)
    try {
      return await run
    } finally {
      if (this.queues.get(key) === run) this.queues.delete(key)
    }
  }

  get (nameText: string): NameRecord {
    const entry = this.entries.get(keyOf(parseName(nameText).bytes))
    if (entry === undefined) {
      throw new NotFoundError(`the name ${nameText} has no record here`, { hint: 'publish one with cairn name publish' })
    }
    return toRecord(entry)
  }

  history (nameText: string, limit: number): NameHistoryEntry[] {
    const entry = this.entries.get(keyOf(parseName(nameText).bytes))
    if (entry === undefined) throw new NotFoundError(`the name ${nameText} has no record here`)
    return entry.history.slice(-limit).reverse()
  }

  list (): NameRecord[] {
    return [...this.entries.values()].map(toRecord)
  }

  /** Roots the names point to now and in their history: they stay pinned. */
  * roots (): Generator<{ root: CID, replication: number }> {
    for (const entry of this.entries.values()) {
      for (const value of new Set([entry.value, ...entry.history.map((h) => h.value)])) {
        const root = ipfsRoot(value)
        if (root !== undefined) yield { root, replication: entry.replication }
      }
    }
  }

  private async putNow (init: PutNameInit): Promise<PutNameResult> {
    const info = await validateRecord(init.name, init.record)
    const key = keyOf(init.name.bytes)
    const current = this.entries.get(key)
    if (current !== undefined && Buffer.compare(current.record, init.record) === 0) return { record: toRecord(current), raised: [] }
    if (init.expect !== undefined) {
      const now = current?.value ?? ''
      if (!sameValue(now, init.expect)) {
        throw new ConflictError(`${init.name.text} no longer points to ${init.expect === '' ? 'nothing' : init.expect}: it points to ${now === '' ? 'nothing yet' : now} (sequence ${current?.sequence ?? 0n})`, {
          hint: 'someone else published meanwhile: read the name again and redo the change'
        })
      }
    }
    if (current !== undefined && info.sequence <= current.sequence) {
      throw new ConflictError(`refused a record for ${init.name.text} with sequence ${info.sequence}: the current one is ${current.sequence}`, {
        hint: 'a record must be newer than the one stored; this one is a replay or lost a race'
      })
    }
    const replication = init.replication ?? current?.replication ?? 3
    // the content must be in the cluster before the name may point to it. What the current value
    // shares with the new one was checked when it was published, and already wants as many copies
    // (wants only rise between recounts, which count names too): only the difference is checked.
    const root = ipfsRoot(info.value)
    // in memory now, for the check below; on disk with the record
    for (const node of init.nodes ?? []) this.state.dag.set(blockKey(node.cid), node.links)
    let raised: CID[] = []
    if (root !== undefined) {
      const base = current !== undefined && replication <= current.replication ? ipfsRoot(current.value) : undefined
      const dag = verifyDag(this.state, root, base)
      raised = [...dag.blocks.values()]
      raiseWants(this.state, raised, replication)
    }
    const stored: StoredName = {
      key: Uint8Array.from(init.name.bytes),
      name: init.name.text,
      record: Uint8Array.from(init.record),
      sequence: info.sequence,
      value: info.value,
      replication,
      updatedMs: this.state.clock()
    }
    const history = [...(current?.history ?? []), { sequence: info.sequence, value: info.value, publishedMs: stored.updatedMs }]
    const dropped = history.length > this.historyLimit ? history.splice(0, history.length - this.historyLimit) : []
    this.state.store.putName(stored, dropped.length > 0 ? history[0]?.sequence : undefined, init.nodes)
    this.entries.set(key, { ...stored, history })
    // a root that left the history (or a lower replication) may free blocks: recount later
    if (dropped.length > 0 || (current !== undefined && replication < current.replication)) this.state.wantsStale = true
    const record = toRecord(this.entries.get(key) as Entry)
    return { record, raised }
  }
}

/** The root CID of an `/ipfs/<cid>/...` value. */
export function ipfsRoot (value: string): CID | undefined {
  const match = /^\/ipfs\/([^/]+)/.exec(value)
  if (match === null) return undefined
  try {
    return CID.parse(match[1] as string)
  } catch {
    throw new InvalidRecordError(`the record's value ${value.slice(0, 80)} names no valid CID`)
  }
}

/** Two values name the same thing: equal, or the same CID in another version/base. */
function sameValue (a: string, b: string): boolean {
  if (a === b) return true
  const norm = (v: string): string => v.replace(/^\/ipfs\/([^/]+)/, (_m, cid: string) => {
    try { return `/ipfs/${CID.parse(cid).toV1().toString()}` } catch { return `/ipfs/${cid}` }
  }).replace(/\/+$/, '')
  return norm(a) === norm(b)
}

function toRecord (entry: Entry): NameRecord {
  return {
    name: entry.name,
    record: entry.record,
    value: entry.value,
    sequence: entry.sequence,
    replication: entry.replication,
    updatedMs: entry.updatedMs
  }
}

function keyOf (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}
