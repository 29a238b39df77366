import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import { CID } from 'multiformats/cid'
import * as varint from 'uint8-varint'
import { ConfigError, blockKey } from '../core/index.ts'
import type { PinInfo } from '../core/index.ts'

/** A datanode the namenode has seen, as persisted (liveness is not: it is rebuilt from heartbeats). */
export interface KnownDatanode {
  id: string
  addrs: string[]
  data?: { host: string, port: number }
  rack?: string
  registeredMs: number
  /** Operator state: survives restarts so a decommission carries on. */
  admin: AdminState
}

export type AdminState = 'normal' | 'decommissioning' | 'decommissioned'

/** A name's newest record as persisted. */
export interface StoredName {
  /** The name's multihash bytes. */
  key: Uint8Array
  /** k51... */
  name: string
  record: Uint8Array
  sequence: bigint
  value: string
  replication: number
  updatedMs: number
}

/**
 * The namenode's durable metadata in SQLite (node:sqlite, no native addon).
 * WAL with synchronous=FULL: a commit is on disk before the call returns, so
 * whatever the namenode acknowledged survives kill -9. The block map is not
 * here: it is rebuilt from datanode block reports after a restart, as in HDFS.
 *
 * Synchronous calls are deliberate: commits take well under a millisecond
 * on this class of disk, and the namenode serves no FUSE mount.
 */
export class MetadataStore {
  private readonly db: DatabaseSync
  private readonly statements: Record<string, StatementSync>

  /** `dir` exists: the namenode made it when it locked it (lockDataDir). */
  constructor (dir: string) {
    const file = path.join(dir, 'metadata.sqlite')
    try {
      this.db = new DatabaseSync(file)
      this.db.exec('PRAGMA journal_mode = WAL')
      this.db.exec('PRAGMA synchronous = FULL')
      this.db.exec('PRAGMA foreign_keys = ON')
      this.migrate()
    } catch (err) {
      throw new ConfigError(`cannot open the namenode metadata at ${file}: ${(err as Error).message}`, {
        cause: err,
        hint: 'check the data directory\'s permissions; a corrupt file can be restored from a backup'
      })
    }
    this.statements = {
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      putPin: this.db.prepare(`INSERT INTO pins (root, replication, label, created_ms, blocks, bytes) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(root) DO UPDATE SET replication = excluded.replication, label = coalesce(excluded.label, pins.label),
        blocks = excluded.blocks, bytes = excluded.bytes`),
      deletePin: this.db.prepare('DELETE FROM pins WHERE root = ?'),
      allPins: this.db.prepare('SELECT root, replication, label, created_ms, blocks, bytes FROM pins ORDER BY created_ms'),
      putDag: this.db.prepare('INSERT OR IGNORE INTO dag (key, links) VALUES (?, ?)'),
      allDag: this.db.prepare('SELECT key, links FROM dag'),
      putDatanode: this.db.prepare(`INSERT INTO datanodes (id, addrs, data, rack, registered_ms, admin) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET addrs = excluded.addrs, data = excluded.data, rack = excluded.rack, admin = excluded.admin`),
      allDatanodes: this.db.prepare('SELECT id, addrs, data, rack, registered_ms, admin FROM datanodes'),
      deleteDatanode: this.db.prepare('DELETE FROM datanodes WHERE id = ?'),
      putName: this.db.prepare(`INSERT INTO names (key, name, record, sequence, value, replication, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET record = excluded.record, sequence = excluded.sequence, value = excluded.value,
        replication = excluded.replication, updated_ms = excluded.updated_ms`),
      allNames: this.db.prepare('SELECT key, name, record, sequence, value, replication, updated_ms FROM names'),
      putHistory: this.db.prepare('INSERT OR REPLACE INTO name_history (key, sequence, value, published_ms) VALUES (?, ?, ?, ?)'),
      allHistory: this.db.prepare('SELECT key, sequence, value, published_ms FROM name_history ORDER BY key, CAST(sequence AS INTEGER)'),
      trimHistory: this.db.prepare('DELETE FROM name_history WHERE key = ? AND CAST(sequence AS INTEGER) < CAST(? AS INTEGER)'),
      deleteDag: this.db.prepare('DELETE FROM dag WHERE key = ?')
    }
  }

  close (): void {
    this.db.close()
  }

  getMeta (key: string): Uint8Array | undefined {
    const row = this.statements.getMeta?.get(key) as { value: Uint8Array } | undefined
    return row?.value
  }

  setMeta (key: string, value: Uint8Array): void {
    this.statements.setMeta?.run(key, value)
  }

  putPin (pin: PinInfo): void {
    this.statements.putPin?.run(pin.root.bytes, pin.replication, pin.label ?? null, pin.createdMs, pin.blocks, pin.bytes)
  }

  deletePin (root: CID): boolean {
    const result = this.statements.deletePin?.run(root.bytes)
    return Number(result?.changes ?? 0) > 0
  }

  pins (): PinInfo[] {
    const rows = this.statements.allPins?.all() as Array<{ root: Uint8Array, replication: number, label: string | null, created_ms: number, blocks: number, bytes: number }>
    return rows.map((row) => {
      const pin: PinInfo = {
        root: CID.decode(row.root),
        replication: row.replication,
        createdMs: row.created_ms,
        blocks: row.blocks,
        bytes: row.bytes
      }
      if (row.label !== null) pin.label = row.label
      return pin
    })
  }

  /** Records the links of DAG nodes, all in one transaction. */
  putDagNodes (nodes: Array<{ cid: CID, links: CID[] }>): void {
    this.transaction(() => { this.writeDagNodes(nodes) })
  }

  private writeDagNodes (nodes: Array<{ cid: CID, links: CID[] }>): void {
    for (const node of nodes) {
      this.statements.putDag?.run(Buffer.from(blockKey(node.cid), 'base64url'), encodeLinks(node.links))
    }
  }

  * dagNodes (): Generator<{ key: string, links: CID[] }> {
    for (const row of this.statements.allDag?.iterate() ?? []) {
      const { key, links } = row as { key: Uint8Array, links: Uint8Array }
      yield { key: Buffer.from(key).toString('base64url'), links: decodeLinks(links) }
    }
  }

  /**
   * Stores a name's newest record and its history entry in one durable
   * transaction, with the DAG nodes the record's value brought (one commit,
   * one fsync, per publish).
   */
  putName (entry: StoredName, keepFromSequence: bigint | undefined, nodes: Array<{ cid: CID, links: CID[] }> = []): void {
    this.transaction(() => {
      this.writeDagNodes(nodes)
      this.statements.putName?.run(entry.key, entry.name, entry.record, entry.sequence.toString(), entry.value, entry.replication, entry.updatedMs)
      this.statements.putHistory?.run(entry.key, entry.sequence.toString(), entry.value, entry.updatedMs)
      if (keepFromSequence !== undefined) this.statements.trimHistory?.run(entry.key, keepFromSequence.toString())
    })
  }

  names (): StoredName[] {
    const rows = this.statements.allNames?.all() as Array<{ key: Uint8Array, name: string, record: Uint8Array, sequence: string, value: string, replication: number, updated_ms: number }>
    return rows.map((r) => ({ key: r.key, name: r.name, record: r.record, sequence: BigInt(r.sequence), value: r.value, replication: r.replication, updatedMs: r.updated_ms }))
  }

  history (): Array<{ key: Uint8Array, sequence: bigint, value: string, publishedMs: number }> {
    const rows = this.statements.allHistory?.all() as Array<{ key: Uint8Array, sequence: string, value: string, published_ms: number }>
    return rows.map((r) => ({ key: r.key, sequence: BigInt(r.sequence), value: r.value, publishedMs: r.published_ms }))
  }

  putDatanode (dn: KnownDatanode): void {
    this.statements.putDatanode?.run(dn.id, JSON.stringify(dn.addrs), dn.data === undefined ? null : JSON.stringify(dn.data), dn.rack ?? null, dn.registeredMs, dn.admin)
  }

  deleteDatanode (id: string): void {
    this.statements.deleteDatanode?.run(id)
  }

  /** Forgets DAG nodes no pin reaches any more (gc). */
  deleteDagNodes (keys: string[]): void {
    this.transaction(() => {
      for (const key of keys) this.statements.deleteDag?.run(Buffer.from(key, 'base64url'))
    })
  }

  datanodes (): KnownDatanode[] {
    const rows = this.statements.allDatanodes?.all() as Array<{ id: string, addrs: string, data: string | null, rack: string | null, registered_ms: number, admin: AdminState }>
    return rows.map((row) => {
      const dn: KnownDatanode = { id: row.id, addrs: JSON.parse(row.addrs) as string[], registeredMs: row.registered_ms, admin: row.admin }
      if (row.data !== null) dn.data = JSON.parse(row.data) as { host: string, port: number }
      if (row.rack !== null) dn.rack = row.rack
      return dn
    })
  }

  transaction (fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      fn()
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  private migrate (): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS pins (
        root BLOB PRIMARY KEY, replication INTEGER NOT NULL, label TEXT,
        created_ms INTEGER NOT NULL, blocks INTEGER NOT NULL, bytes INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS dag (key BLOB PRIMARY KEY, links BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS datanodes (
        id TEXT PRIMARY KEY, addrs TEXT NOT NULL, data TEXT, rack TEXT, registered_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS names (
        key BLOB PRIMARY KEY, name TEXT NOT NULL, record BLOB NOT NULL, sequence TEXT NOT NULL,
        value TEXT NOT NULL, replication INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS name_history (
        key BLOB NOT NULL, sequence TEXT NOT NULL, value TEXT NOT NULL, published_ms INTEGER NOT NULL,
        PRIMARY KEY (key, sequence));
    `)
    const version = (this.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
    if (version > SCHEMA_VERSION) {
      throw new Error(`metadata schema version ${version} is newer than this Cairn understands (${SCHEMA_VERSION})`)
    }
    // each step upgrades one version, in a transaction; a fresh file starts from the v1 tables above
    const steps: Record<number, string> = {
      1: "ALTER TABLE datanodes ADD COLUMN admin TEXT NOT NULL DEFAULT 'normal'",
      // names and name_history are created above for every version
      2: 'SELECT 1'
    }
    for (let v = Math.max(version, 1); v < SCHEMA_VERSION; v++) {
      this.transaction(() => { this.db.exec(steps[v] as string) })
    }
    this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
  }
}

/** Version of the tables below; `migrate` upgrades older files step by step. */
const SCHEMA_VERSION = 3

/** Links as their CIDs' bytes, each prefixed by a varint length: compact and codec-free. */
function encodeLinks (links: CID[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const link of links) {
    parts.push(varint.encode(link.bytes.byteLength), link.bytes)
  }
  return Buffer.concat(parts)
}

function decodeLinks (bytes: Uint8Array): CID[] {
  const links: CID[] = []
  let offset = 0
  while (offset < bytes.byteLength) {
    const length = varint.decode(bytes, offset)
    offset += varint.encodingLength(length)
    links.push(CID.decode(bytes.subarray(offset, offset + length)))
    offset += length
  }
  return links
}
