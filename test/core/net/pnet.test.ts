import { createHash, randomFillSync } from 'node:crypto'
import { describe, it, expect, afterEach } from 'vitest'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { preSharedKey } from '@libp2p/pnet'
import { clusterProtector, decodeClusterKey, generateClusterKey } from '../../../core/net/pnet.ts'
import { ClusterKeyError } from '../../../core/errors.ts'
import type { Libp2p, Stream } from '@libp2p/interface'

const PROTOCOL = '/cairn-test/pnet/1.0.0'
const MiB = 1024 * 1024

let nodes: Libp2p[] = []

afterEach(async () => {
  await Promise.all(nodes.map(async (n) => { await n.stop() }))
  nodes = []
})

type Protector = NonNullable<Parameters<typeof createLibp2p>[0]>['connectionProtector']

async function startNode (connectionProtector: Protector): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector,
    // libp2p refuses more than 5 inbound connections a second from one host
    connectionManager: { allow: ['/ip4/127.0.0.1'] }
  })
  nodes.push(node)
  return node
}

function addr (node: Libp2p): ReturnType<Libp2p['getMultiaddrs']>[number] {
  const first = node.getMultiaddrs()[0]
  if (first === undefined) throw new Error('node has no listen address')
  return first
}

/** Write `total` pseudo-random bytes, close our side; the SHA-256 of what was sent. */
async function sendRandom (stream: Stream, total: number): Promise<string> {
  const hash = createHash('sha256')
  for (let sent = 0; sent < total;) {
    const chunk = randomFillSync(new Uint8Array(Math.min(256 * 1024, total - sent)))
    hash.update(chunk)
    sent += chunk.byteLength
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
  return hash.digest('hex')
}

/** Everything the peer sends until it closes its side, as a SHA-256 and a length. */
async function receiveAll (stream: Stream): Promise<{ sha: string, bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of stream) {
    const buf = chunk.subarray()
    hash.update(buf)
    bytes += buf.byteLength
  }
  return { sha: hash.digest('hex'), bytes }
}

/** Both ways at once over one stream; resolves once the server side has finished too. */
async function exchange (client: Libp2p, server: Libp2p, size: number): Promise<void> {
  let served!: Promise<{ sent: string, received: { sha: string, bytes: number } }>
  await server.handle(PROTOCOL, async (stream) => {
    served = Promise.all([receiveAll(stream), sendRandom(stream, size)]).then(([received, sent]) => ({ sent, received }))
    await served
  }, { force: true })
  const stream = await client.dialProtocol(addr(server), PROTOCOL)
  const [received, sent] = await Promise.all([receiveAll(stream), sendRandom(stream, size)])
  const serverSide = await served
  expect(received.bytes).toBe(size)
  expect(serverSide.received.bytes).toBe(size)
  expect(received.sha).toBe(serverSide.sent)
  expect(serverSide.received.sha).toBe(sent)
}

/** Echo a handful of odd-sized messages so chunks start mid keystream block. */
async function echo (client: Libp2p, server: Libp2p): Promise<void> {
  await server.handle(PROTOCOL, async (stream) => {
    for await (const chunk of stream) {
      if (!stream.send(chunk.subarray())) await stream.onDrain()
    }
    await stream.close()
  }, { force: true })
  const stream = await client.dialProtocol(addr(server), PROTOCOL)
  const messages = [1, 63, 64, 65, 1000, 4096, 3, 7777].map((n) => randomFillSync(new Uint8Array(n)))
  const sent = Buffer.concat(messages)
  const received: Uint8Array[] = []
  let got = 0
  const reader = (async () => {
    for await (const chunk of stream) {
      received.push(chunk.subarray())
      got += chunk.byteLength
      if (got >= sent.byteLength) break
    }
  })()
  for (const message of messages) {
    stream.send(message)
    // let each message cross the wire on its own
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await reader
  await stream.close()
  expect(Buffer.concat(received).equals(sent)).toBe(true)
}

describe('cluster key protector (pnet)', () => {
  it('carries 64 MiB each way over one stream byte-identical', async () => {
    const key = generateClusterKey()
    const a = await startNode(clusterProtector({ key }))
    const b = await startNode(clusterProtector({ key }))
    await exchange(a, b, 64 * MiB)
  }, 60_000)

  it('interoperates with @libp2p/pnet in both dial directions', async () => {
    const key = generateClusterKey()
    const ours = await startNode(clusterProtector({ key }))
    const theirs = await startNode(preSharedKey({ psk: key }))
    await echo(ours, theirs)
    await echo(theirs, ours)
    await exchange(ours, theirs, 200 * 1024)
  }, 20_000)

  it('fails the dial quickly when the keys differ', async () => {
    const a = await startNode(clusterProtector({ key: generateClusterKey() }))
    const b = await startNode(clusterProtector({ key: generateClusterKey() }))
    await b.handle(PROTOCOL, async (stream) => { await stream.close() })
    const started = Date.now()
    await expect(a.dialProtocol(addr(b), PROTOCOL, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/different cluster key/)
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(a.getConnections()).toHaveLength(0)
  }, 20_000)

  it('times out the handshake with a peer that never sends its nonce', async () => {
    const net = await import('node:net')
    // a listener that accepts and stays silent, like a node without a cluster key
    const server = net.createServer((socket) => { socket.on('error', () => {}) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as import('node:net').AddressInfo).port
      const a = await startNode(clusterProtector({ key: generateClusterKey(), handshakeTimeoutMs: 300 }))
      const { multiaddr } = await import('@multiformats/multiaddr')
      const started = Date.now()
      const err = await a.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}`)).catch((e: unknown) => e)
      expect(Date.now() - started).toBeLessThan(3_000)
      expect(String(err)).toMatch(/cluster-key handshake .* timed out/)
    } finally {
      server.close()
    }
  }, 20_000)

  it('opens and closes 300 connections without leaking, then still transfers', async () => {
    const key = generateClusterKey()
    const a = await startNode(clusterProtector({ key }))
    const b = await startNode(clusterProtector({ key }))
    for (let i = 0; i < 300; i++) {
      const conn = await a.dial(addr(b))
      await conn.close()
    }
    await expect.poll(() => a.getConnections().length + b.getConnections().length, { timeout: 5_000 }).toBe(0)
    await exchange(a, b, 4 * MiB)
  }, 60_000)

  it('decodes key files and rejects malformed ones', () => {
    expect(decodeClusterKey(generateClusterKey())).toHaveLength(32)
    const hex = 'ab'.repeat(32)
    const text = (s: string): Uint8Array => new TextEncoder().encode(s)
    expect(decodeClusterKey(text(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${hex}\r\n`))).toEqual(new Uint8Array(32).fill(0xab))
    const bad = [
      '',
      `/key/swarm/psk/2.0.0/\n/base16/\n${hex}`,
      `/key/swarm/psk/1.0.0/\n/base64/\n${hex}`,
      `/key/swarm/psk/1.0.0/\n/base16/\n${hex.slice(2)}`,
      `/key/swarm/psk/1.0.0/\n/base16/\n${hex.slice(2)}zz`,
      `/key/swarm/psk/1.0.0/\n/base16/\n${hex}\nextra`
    ]
    for (const file of bad) {
      let caught: unknown
      try { decodeClusterKey(text(file)) } catch (err) { caught = err }
      expect(caught, JSON.stringify(file)).toBeInstanceOf(ClusterKeyError)
      expect((caught as ClusterKeyError).code).toBe('ERR_CLUSTER_KEY')
      expect((caught as ClusterKeyError).hint).toMatch(/3 lines/)
    }
    expect(() => clusterProtector({ key: text('nonsense') })).toThrow(ClusterKeyError)
  })
})
