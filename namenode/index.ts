/** The namenode: the cluster's metadata authority. */
export { Namenode } from './namenode.ts'
export type { NamenodeInit } from './namenode.ts'
export { livenessOf } from './liveness.ts'
export type { LivenessPolicy } from './liveness.ts'
export { chooseTargets } from './placement.ts'
export type { PlacementCandidate, PlacementRequest } from './placement.ts'
