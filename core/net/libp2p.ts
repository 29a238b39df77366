import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ConfigError } from '../errors.ts'
import { clusterProtector } from './pnet.ts'

export interface CairnNodeInit {
  /** Persistent identity; a fresh one when absent (clients). */
  privateKey?: PrivateKey
  /** Multiaddrs to listen on. Default: none (a dial-only client). */
  listen?: string[]
  /** The cluster key file's bytes: nodes without the same key cannot connect. */
  clusterKey: Uint8Array
}

/**
 * A libp2p node as every Cairn process runs it: TCP, the cluster's private
 * network, noise, yamux. No discovery, no DHT: peers are dialed by address.
 */
export async function createCairnNode (init: CairnNodeInit): Promise<Libp2p> {
  const listen = init.listen ?? []
  for (const addr of listen) parseMultiaddr(addr, 'listen address')
  const node = await createLibp2p({
    ...(init.privateKey === undefined ? {} : { privateKey: init.privateKey }),
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: clusterProtector({ key: init.clusterKey }),
    connectionManager: {
      maxConnections: 4096,
      // every CLI command is a new connection from the same host; the default 5/s refuses scripts
      inboundConnectionThreshold: 10_000,
      maxIncomingPendingConnections: 256,
      dialTimeout: 5_000
    },
    // liveness is the namenode's heartbeat business; the monitor's ping would
    // abort connections of a datanode busy hashing
    connectionMonitor: { enabled: false }
  })
  return node
}

export async function newIdentity (): Promise<PrivateKey> {
  return await generateKeyPair('Ed25519')
}

export function encodeIdentity (key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key)
}

export function decodeIdentity (bytes: Uint8Array): PrivateKey {
  return privateKeyFromProtobuf(bytes)
}

export function parseMultiaddr (text: string, what = 'address'): Multiaddr {
  try {
    return multiaddr(text)
  } catch (err) {
    throw new ConfigError(`${what} "${text}" is not a valid multiaddr`, {
      cause: err,
      hint: 'a multiaddr looks like /ip4/127.0.0.1/tcp/4740'
    })
  }
}

/** The node's dialable address with its peer id, preferring a loopback-or-given host over 0.0.0.0. */
export function dialableAddress (node: Libp2p): string {
  const addrs = node.getMultiaddrs().map((a) => a.toString())
  const best = addrs.find((a) => !a.includes('/0.0.0.0/')) ?? addrs[0]
  if (best === undefined) throw new ConfigError('the node listens on no address')
  return best.includes('/p2p/') ? best : `${best}/p2p/${node.peerId.toString()}`
}
