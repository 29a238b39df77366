import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { classify, repairPriority, sortCopies } from '../../namenode/health.ts'
import type { HolderView } from '../../namenode/health.ts'
import { chooseExcess } from '../../namenode/placement.ts'
import { SafeMode } from '../../namenode/safe-mode.ts'
import { MetadataStore } from '../../namenode/store.ts'

const live = (rack?: string): HolderView => ({ state: 'live', admin: 'normal', ...(rack === undefined ? {} : { rack }) })

describe('block health', () => {
  const views: Record<number, HolderView> = {
    0: live('a'), 1: live('a'), 2: live('b'), 3: { state: 'dead', admin: 'normal' },
    4: { state: 'live', admin: 'decommissioning' }, 5: { state: 'stale', admin: 'normal', rack: 'b' }
  }
  const copies = (...ds: number[]) => sortCopies(ds, (d) => views[d])
  const rackOf = (d: number): string | undefined => views[d]?.rack

  it('counts copies on live and stale datanodes; not dead ones; retiring ones are read but not counted', () => {
    expect(copies(0, 3, 4, 5)).toEqual({ good: [0, 5], retiring: [4], dead: [3] })
  })

  it('classifies each case', () => {
    const health = (want: number, ds: number[], racks = 2, corruptSeen = false) => classify({ want, copies: copies(...ds), rackOf, racks, corruptSeen })
    expect(health(2, [0, 2])).toBe('healthy')
    expect(health(3, [0, 2])).toBe('under-replicated')
    expect(health(1, [0, 2])).toBe('over-replicated')
    expect(health(2, [0, 1])).toBe('misplaced')
    expect(health(2, [0, 1], 1)).toBe('healthy')
    expect(health(2, [3])).toBe('missing')
    expect(health(2, [], 2, true)).toBe('corrupt')
    expect(health(2, [4])).toBe('under-replicated')
  })

  it('repairs the block closest to loss first', () => {
    expect(repairPriority(3, copies(0))).toBe(0)
    expect(repairPriority(3, copies(4))).toBe(0)
    expect(repairPriority(5, copies(0, 2))).toBe(1)
    expect(repairPriority(3, copies(0, 2))).toBe(2)
  })

  it('removes excess copies from crowded racks first, then from the fullest datanodes', () => {
    const picked = chooseExcess([
      { datanode: 0, availableBytes: 500, rack: 'a' },
      { datanode: 1, availableBytes: 100, rack: 'a' },
      { datanode: 2, availableBytes: 10, rack: 'b' }
    ], 1)
    expect(picked).toEqual([1])
    expect(chooseExcess([{ datanode: 0, availableBytes: 5 }, { datanode: 1, availableBytes: 1 }], 1)).toEqual([1])
  })
})

describe('safe mode', () => {
  const counts = (pinned: number, readable: number) => ({ pinned, readable, healthy: 0, underReplicated: 0, overReplicated: 0, misplaced: 0, missing: 0, corrupt: 0 })

  it('ends once enough blocks are reported and the extension has passed, never before', () => {
    const mode = new SafeMode({ threshold: 0.9, extensionMs: 1_000 })
    expect(mode.update(counts(100, 50), 0)).toBe(false)
    expect(mode.active).toBe(true)
    expect(mode.update(counts(100, 95), 10)).toBe(false)
    expect(mode.update(counts(100, 95), 500)).toBe(false)
    expect(mode.update(counts(100, 95), 1_010)).toBe(true)
    expect(mode.active).toBe(false)
  })

  it('restarts the extension if reports fall back below the threshold', () => {
    const mode = new SafeMode({ threshold: 0.9, extensionMs: 1_000 })
    mode.update(counts(10, 10), 0)
    mode.update(counts(10, 5), 900)
    expect(mode.update(counts(10, 10), 1_500)).toBe(false)
    expect(mode.update(counts(10, 10), 2_501)).toBe(true)
  })

  it('leaves at once with nothing pinned (after the extension), and holds when entered by hand', () => {
    const mode = new SafeMode({ extensionMs: 0 })
    expect(mode.update(counts(0, 0), 0)).toBe(true)
    mode.enter()
    expect(mode.update(counts(0, 0), 1)).toBe(false)
    expect(mode.active).toBe(true)
    mode.leave()
    expect(mode.active).toBe(false)
  })
})

describe('metadata migration', () => {
  it('upgrades a version 1 file (no admin state) in place', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-mig-'))
    try {
      const db = new DatabaseSync(path.join(dir, 'metadata.sqlite'))
      db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE pins (root BLOB PRIMARY KEY, replication INTEGER NOT NULL, label TEXT, created_ms INTEGER NOT NULL, blocks INTEGER NOT NULL, bytes INTEGER NOT NULL);
        CREATE TABLE dag (key BLOB PRIMARY KEY, links BLOB NOT NULL) WITHOUT ROWID;
        CREATE TABLE datanodes (id TEXT PRIMARY KEY, addrs TEXT NOT NULL, data TEXT, rack TEXT, registered_ms INTEGER NOT NULL);
        INSERT INTO datanodes VALUES ('dn', '[]', NULL, NULL, 1);
        PRAGMA user_version = 1;`)
      db.close()
      const store = new MetadataStore(dir)
      expect(store.datanodes()).toEqual([{ id: 'dn', addrs: [], registeredMs: 1, admin: 'normal' }])
      store.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
