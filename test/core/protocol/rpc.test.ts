import { randomBytes } from 'node:crypto'
import { getEventListeners } from 'node:events'
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AbortedError, BlockNotFoundError, BufferPool, FrameDecoder, MAX_FRAME_BYTES, ProtocolError, Reply, RpcPeer, TimeoutError,
  UnknownMethodError, encodeFrame, socketChannel
} from '../../../core/index.ts'
import type { Channel, ChannelSink, Handlers } from '../../../core/index.ts'

let server: Server | undefined
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets) s.destroy()
  sockets.length = 0
  await new Promise<void>((resolve) => { server === undefined ? resolve() : server.close(() => { resolve() }) })
  server = undefined
})

/** Two RpcPeers joined by a real TCP connection on loopback. */
async function pair (serverHandlers: Handlers, init: { maxConcurrentHandlers?: number, timeoutMs?: number } = {}): Promise<{ client: RpcPeer, serverPeer: Promise<RpcPeer> }> {
  let resolvePeer: (p: RpcPeer) => void = () => {}
  const serverPeer = new Promise<RpcPeer>((resolve) => { resolvePeer = resolve })
  server = createServer((socket) => {
    sockets.push(socket)
    resolvePeer(new RpcPeer(socketChannel(socket, 'client'), { handlers: serverHandlers, ...init }))
  })
  await new Promise<void>((resolve) => { server?.listen(0, '127.0.0.1', () => { resolve() }) })
  const port = (server.address() as { port: number }).port
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  await new Promise<void>((resolve) => socket.once('connect', () => { resolve() }))
  return { client: new RpcPeer(socketChannel(socket, 'server'), init.timeoutMs === undefined ? {} : { timeoutMs: init.timeoutMs }), serverPeer }
}

describe('frames', () => {
  it('reassemble however the byte stream is cut', () => {
    const body = new Uint8Array(100_000).map((_, i) => i % 251)
    const bytes = Buffer.concat([...encodeFrame(new Uint8Array([1, 2, 3]), body), ...encodeFrame(new Uint8Array([9]))])
    for (const cut of [1, 7, 4096, bytes.byteLength]) {
      const decoder = new FrameDecoder()
      const frames = []
      for (let i = 0; i < bytes.byteLength; i += cut) {
        decoder.push(bytes.subarray(i, i + cut))
        for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push(f)
      }
      expect(frames).toHaveLength(2)
      expect([...frames[0]!.header]).toEqual([1, 2, 3])
      expect(Buffer.compare(frames[0]!.body!, body)).toBe(0)
      expect(frames[1]!.body).toBeUndefined()
    }
  })

  it('reassemble large and small frames from reused (transient) chunks cut anywhere, with and without a buffer pool', () => {
    const bodies = [randomBytes(300_000), undefined, randomBytes(65_536), randomBytes(70_000), undefined, randomBytes(1024 * 1024)]
    const bytes = Buffer.concat(bodies.flatMap((body, i) => encodeFrame(new Uint8Array([i]), body)))
    for (const pool of [undefined, new BufferPool([128 * 1024, 2 * 1024 * 1024], 2)]) {
      for (const cut of [1_000, 65_535, 65_536, 100_003, bytes.byteLength]) {
        const decoder = new FrameDecoder(undefined, pool)
        const scratch = Buffer.alloc(cut)
        const frames = []
        for (let i = 0; i < bytes.byteLength; i += cut) {
          const n = bytes.copy(scratch, 0, i, i + cut)
          decoder.push(scratch.subarray(0, n), true)
          scratch.fill(0xee) // the stream reuses its buffer: nothing kept may point into it
          for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push(f)
        }
        expect(decoder.bufferedBytes).toBe(0)
        expect(frames.map((f) => f.header[0])).toEqual([0, 1, 2, 3, 4, 5])
        frames.forEach((f, i) => {
          const body = bodies[i]
          if (body === undefined) expect(f.body).toBeUndefined()
          else expect(Buffer.compare(f.body!, body)).toBe(0)
          f.release?.()
        })
      }
    }
  })

  it('refuse a frame over the limit before buffering it', () => {
    const decoder = new FrameDecoder(1024)
    decoder.push(encodeFrame(new Uint8Array(10), new Uint8Array(2000))[0]!)
    expect(() => decoder.next()).toThrow(ProtocolError)
    expect(() => encodeFrame(new Uint8Array(1), new Uint8Array(MAX_FRAME_BYTES))).toThrow(ProtocolError)
  })
})

describe('rpc', () => {
  it('a channel that breaks while a request is being written fails that call once, with no unhandled rejection', async () => {
    // the break is staged by hand: a real socket cannot be made to fail at exactly this moment
    let sink: ChannelSink | undefined
    const channel: Channel = {
      label: 'breaking',
      start (s) { sink = s },
      pause () {},
      resume () {},
      async write () {
        sink?.end(new Error('connection reset'))
        throw new Error('write after reset')
      },
      async close () {},
      abort () {}
    }
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    try {
      const peer = new RpcPeer(channel, { handlers: {} })
      await expect(peer.call('block.put', {})).rejects.toThrow(/could not send block\.put to breaking: write after reset/)
      await expect(peer.call('block.put', {})).rejects.toThrow(/closed/)
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
  })

  it('answers many concurrent calls, matching each answer to its call, bodies intact', async () => {
    const { client } = await pair({
      echo: async (p: { n: number }, ctx) => {
        await new Promise((r) => setTimeout(r, (p.n * 7) % 13))
        return ctx.body === undefined ? { n: p.n } : new Reply({ n: p.n }, ctx.body)
      }
    })
    const calls = Array.from({ length: 200 }, async (_, n) => {
      const body = n % 2 === 0 ? new Uint8Array(50_000).fill(n % 256) : undefined
      const result = await client.call<{ n: number }>('echo', { n }, body === undefined ? {} : { body })
      expect(result.value.n).toBe(n)
      if (body !== undefined) expect(Buffer.compare(result.body!, body)).toBe(0)
    })
    await Promise.all(calls)
  })

  it('carries errors across the wire as their own class, with the hint', async () => {
    const { client } = await pair({
      missing: () => { throw new BlockNotFoundError('no such block', { hint: 'try elsewhere' }) },
      bug: () => { throw new TypeError('oops') }
    })
    const err = await client.request('missing').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlockNotFoundError)
    expect((err as BlockNotFoundError).hint).toBe('try elsewhere')
    await expect(client.request('bug')).rejects.toMatchObject({ code: 'ERR_INTERNAL', message: 'oops' })
    await expect(client.request('nope')).rejects.toBeInstanceOf(UnknownMethodError)
  })

  it('times out a call that is never answered, and cancels it on the server', async () => {
    let serverSignal: AbortSignal | undefined
    const { client } = await pair({
      hang: async (_p: unknown, ctx) => { serverSignal = ctx.signal; await new Promise(() => {}) }
    }, { timeoutMs: 200 })
    await expect(client.request('hang')).rejects.toBeInstanceOf(TimeoutError)
    await new Promise((r) => setTimeout(r, 100))
    expect(serverSignal?.aborted).toBe(true)
  })

  it('gives up a call when its signal aborts', async () => {
    const { client } = await pair({ hang: async () => await new Promise(() => {}) })
    const controller = new AbortController()
    const call = client.request('hang', {}, { signal: controller.signal })
    controller.abort()
    await expect(call).rejects.toBeInstanceOf(AbortedError)
  })

  it('calls sharing a signal hang one listener on it; aborting cancels every call still waiting, here and on the server', async () => {
    const serverSignals = new Map<number, AbortSignal>()
    const { client } = await pair({
      quick: (p: { n: number }) => p.n,
      hang: async (p: { n: number }, ctx) => { serverSignals.set(p.n, ctx.signal); await new Promise(() => {}) }
    }, { maxConcurrentHandlers: 1_000 })
    const controller = new AbortController()
    const { signal } = controller
    // answered calls leave nothing behind on the signal
    const answers = await Promise.all(Array.from({ length: 200 }, async (_, n) => await client.request('quick', { n }, { signal })))
    expect(answers).toEqual(Array.from({ length: 200 }, (_, n) => n))
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)

    const hanging = Array.from({ length: 500 }, async (_, n) => await client.request('hang', { n }, { signal }))
    const settled = Promise.allSettled(hanging)
    while (serverSignals.size < 500) await new Promise((r) => setTimeout(r, 10))
    expect(getEventListeners(signal, 'abort')).toHaveLength(1)
    controller.abort()
    const results = await settled
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof AbortedError && /hang was cancelled/.test(r.reason.message))).toBe(true)
    expect(getEventListeners(signal, 'abort')).toHaveLength(0)
    await new Promise((r) => setTimeout(r, 100))
    expect([...serverSignals.values()].every((s) => s.aborted)).toBe(true)
    // the peer still works, with a fresh signal
    expect(await client.request('quick', { n: 7 }, { signal: new AbortController().signal })).toBe(7)
  })

  it('serves at most maxConcurrentHandlers at once and stops reading beyond that', async () => {
    let active = 0
    let peak = 0
    const { client } = await pair({
      work: async () => {
        active++
        peak = Math.max(peak, active)
        await new Promise((r) => setTimeout(r, 20))
        active--
        return null
      }
    }, { maxConcurrentHandlers: 4 })
    await Promise.all(Array.from({ length: 40 }, async () => await client.request('work')))
    expect(peak).toBe(4)
  })

  it('fails pending calls at once when the connection drops', async () => {
    const { client, serverPeer } = await pair({ hang: async () => await new Promise(() => {}) })
    const call = client.request('hang')
    ;(await serverPeer).abort(new Error('gone'))
    await expect(call).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
    expect(client.closed).toBe(true)
  })
})
