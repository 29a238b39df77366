/**
 * The HTTP gateway: /ipfs and /ipns paths (path gateway and trustless
 * responses) over a Cairn cluster, and the cluster status page.
 */
export { Gateway, DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT, GATEWAY_BLOCK_TIMEOUT_MS, GATEWAY_FIRST_BYTE_TIMEOUT_MS } from './server.ts'
export type { GatewayInit } from './server.ts'
export { gatherStatus } from './status/data.ts'
export type { StatusData, StatusPin, StatusName, PinHealth } from './status/data.ts'
export { statusOf } from './errors.ts'
