import { describe, expect, it } from 'vitest'
import { chooseTargets, livenessOf } from '../../namenode/index.ts'
import type { PlacementCandidate } from '../../namenode/index.ts'

/** A seeded generator so every placement decision replays exactly. */
function seeded (seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

describe('liveness', () => {
  const policy = { staleAfterMs: 10_000, deadAfterMs: 30_000 }
  it('is live, then stale, then dead as silence grows', () => {
    expect(livenessOf(1_000, 1_000, policy)).toBe('live')
    expect(livenessOf(1_000, 10_999, policy)).toBe('live')
    expect(livenessOf(1_000, 11_000, policy)).toBe('stale')
    expect(livenessOf(1_000, 30_999, policy)).toBe('stale')
    expect(livenessOf(1_000, 31_000, policy)).toBe('dead')
  })
  it('is dead until the datanode has spoken to this namenode', () => {
    expect(livenessOf(undefined, 5, policy)).toBe('dead')
  })
})

describe('placement', () => {
  const node = (id: string, availableBytes: number, rack?: string): PlacementCandidate =>
    ({ id, availableBytes, activeTransfers: 0, ...(rack === undefined ? {} : { rack }) })

  it('chooses distinct datanodes, never more than exist', () => {
    const candidates = [node('a', 100), node('b', 100), node('c', 100)]
    for (let seed = 1; seed < 50; seed++) {
      const chosen = chooseTargets({ candidates, count: 5, bytes: 1, random: seeded(seed) }).map((c) => c.id)
      expect(new Set(chosen).size).toBe(3)
    }
  })

  it('skips datanodes without room and excluded ones', () => {
    const candidates = [node('a', 10), node('b', 1_000), node('c', 1_000)]
    const chosen = chooseTargets({ candidates, count: 3, bytes: 100, exclude: new Set(['c']), random: seeded(1) })
    expect(chosen.map((c) => c.id)).toEqual(['b'])
  })

  it('puts copies on distinct racks before doubling up on one', () => {
    const candidates = [node('a1', 100, 'A'), node('a2', 100, 'A'), node('a3', 100, 'A'), node('b1', 1, 'B')]
    for (let seed = 1; seed < 50; seed++) {
      const chosen = chooseTargets({ candidates, count: 2, bytes: 1, random: seeded(seed) })
      expect(new Set(chosen.map((c) => c.rack))).toEqual(new Set(['A', 'B']))
    }
  })

  it('favours free space: over many batches the emptier datanode gets more', () => {
    const candidates = [node('full', 100), node('empty', 900)]
    const random = seeded(7)
    let empty = 0
    for (let i = 0; i < 1_000; i++) {
      if (chooseTargets({ candidates, count: 1, bytes: 1, random })[0]?.id === 'empty') empty++
    }
    expect(empty).toBeGreaterThan(800)
    expect(empty).toBeLessThan(980)
  })
})
