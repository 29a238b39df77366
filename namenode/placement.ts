/** What placement needs to know of a datanode. */
export interface PlacementCandidate {
  id: string
  availableBytes: number
  rack?: string
  activeTransfers: number
}

export interface PlacementRequest {
  candidates: PlacementCandidate[]
  count: number
  /** Bytes each chosen datanode must have room for. */
  bytes: number
  /** Ids not to choose (they already hold the data, or just failed). */
  exclude?: ReadonlySet<string>
  /** Racks already holding a copy, to be avoided where possible. */
  usedRacks?: ReadonlySet<string>
  /** Source of randomness in [0, 1); injected so tests are exact. */
  random?: () => number
}

/**
 * Chooses up to `count` distinct datanodes for new copies. Pure.
 *
 * - only datanodes with room for the bytes;
 * - distinct racks first (a rack's failure must not take every copy), then
 *   any distinct datanode;
 * - among those, a weighted draw by free space, so fuller datanodes get less
 *   and successive batches spread over the cluster instead of all landing on
 *   the same few datanodes. Busy datanodes weigh less.
 */
export function chooseTargets (request: PlacementRequest): PlacementCandidate[] {
  const random = request.random ?? Math.random
  const exclude = request.exclude ?? new Set<string>()
  const usedRacks = new Set(request.usedRacks ?? [])
  let pool = request.candidates.filter((c) => !exclude.has(c.id) && c.availableBytes >= request.bytes)
  const chosen: PlacementCandidate[] = []

  while (chosen.length < request.count && pool.length > 0) {
    const freshRack = pool.filter((c) => c.rack === undefined || !usedRacks.has(c.rack))
    const from = freshRack.length > 0 ? freshRack : pool
    const pick = weightedPick(from, random)
    chosen.push(pick)
    if (pick.rack !== undefined) usedRacks.add(pick.rack)
    pool = pool.filter((c) => c !== pick)
  }
  return chosen
}

function weightedPick (from: PlacementCandidate[], random: () => number): PlacementCandidate {
  const weights = from.map((c) => Math.max(1, c.availableBytes) / (1 + c.activeTransfers))
  const total = weights.reduce((a, b) => a + b, 0)
  let at = random() * total
  for (let i = 0; i < from.length; i++) {
    at -= weights[i] as number
    if (at < 0) return from[i] as PlacementCandidate
  }
  return from[from.length - 1] as PlacementCandidate
}

export interface ExcessCandidate {
  datanode: number
  availableBytes: number
  rack?: string
}

/**
 * Which `remove` copies to delete from an over-replicated block. Pure.
 * Keeps rack diversity first (never drops a rack's only copy while a rack
 * holds two), then frees the fullest datanodes.
 */
export function chooseExcess (copies: ExcessCandidate[], remove: number): number[] {
  const left = [...copies]
  const chosen: number[] = []
  while (chosen.length < remove && left.length > 0) {
    const perRack = new Map<string | undefined, number>()
    for (const c of left) perRack.set(c.rack, (perRack.get(c.rack) ?? 0) + 1)
    const crowded = left.filter((c) => (perRack.get(c.rack) ?? 0) > 1)
    const from = crowded.length > 0 ? crowded : left
    const pick = from.reduce((a, b) => b.availableBytes < a.availableBytes ? b : a)
    chosen.push(pick.datanode)
    left.splice(left.indexOf(pick), 1)
  }
  return chosen
}
