import { RPC_MAX_CONCURRENT_HANDLERS, RPC_TIMEOUT_MS } from '../constants.ts'
import {
  AbortedError, CairnError, ConnectionClosedError, ProtocolError, TimeoutError, UnknownMethodError,
  errorFromWire, errorToWire
} from '../errors.ts'
import type { WireError } from '../errors.ts'
import { decodeMessage, encodeMessage } from './codec.ts'
import { FrameDecoder, encodeFrame } from './frame.ts'
import type { Frame } from './frame.ts'
import type { Channel } from './channel.ts'
import type { BufferPool } from '../util/pool.ts'

/**
 * Request/response over one long-lived channel, many requests in flight,
 * answers matched by id. Both ends may serve and call. One stream per
 * connection keeps a call to a single round trip (no per-request stream
 * negotiation), which is what keeps name resolution in the low milliseconds.
 *
 * Wire messages (dag-cbor headers, optional raw body):
 *   { k: 'q', i, m, p }  request     { k: 'r', i, v }  result
 *   { k: 'e', i, e }     error       { k: 'c', i }     caller gave up
 */

export interface CallOptions {
  signal?: AbortSignal
  /** Default: the peer's `timeoutMs`. */
  timeoutMs?: number
  /** Opaque bytes sent beside the params (block data), never re-encoded. */
  body?: Uint8Array
}

export interface CallResult<T> {
  value: T
  body?: Uint8Array
}

/** Returned by a handler that answers with a body as well as a value. */
export class Reply<T = unknown> {
  readonly value: T
  readonly body: Uint8Array
  constructor (value: T, body: Uint8Array) {
    this.value = value
    this.body = body
  }
}

export interface RequestContext {
  body?: Uint8Array
  /** Aborted when the caller gives up or the channel closes. */
  signal: AbortSignal
  peer: RpcPeer
}

export type Handler = (params: any, ctx: RequestContext) => unknown
export type Handlers = Record<string, Handler>

export interface RpcPeerInit {
  /** Methods this side serves. Default: none. */
  handlers?: Handlers
  /** Requests served at once before reading pauses. Default RPC_MAX_CONCURRENT_HANDLERS. */
  maxConcurrentHandlers?: number
  /** Deadline of a call that does not set its own. Default RPC_TIMEOUT_MS. */
  timeoutMs?: number
  /** Builds the error callers see when the transport fails. Default ConnectionClosedError. */
  transportError?: (message: string, cause?: unknown) => CairnError
  /** Runs once when the channel ends. */
  onClose?: (err?: Error) => void
  /** Sees handler failures that are bugs rather than CairnErrors. */
  onHandlerError?: (method: string, err: unknown) => void
  /**
   * Receive large request frames into these reusable buffers. Only for
   * peers whose handlers never keep `ctx.body` after they return: the buffer
   * is reused as soon as the handler settles.
   */
  requestBufferPool?: BufferPool
}

interface Pending {
  method: string
  resolve: (result: CallResult<unknown>) => void
  reject: (err: Error) => void
  cleanup: () => void
}

/** The calls waiting on one caller signal, and the one listener that cancels them. */
interface SignalWatch {
  ids: Set<number>
  listener: () => void
}

export class RpcPeer {
  readonly channel: Channel
  private readonly handlers: Handlers
  private readonly maxConcurrent: number
  private readonly timeoutMs: number
  private readonly transportError: (message: string, cause?: unknown) => CairnError
  private readonly onCloseCallback: ((err?: Error) => void) | undefined
  private readonly onHandlerError: ((method: string, err: unknown) => void) | undefined
  private readonly decoder: FrameDecoder
  private readonly pending = new Map<number, Pending>()
  private readonly active = new Map<number, AbortController>()
  /**
   * One abort listener per caller signal, not one per call: a put shares its
   * signal among thousands of calls in flight, and an EventTarget checks
   * every listener it holds on each add (quadratic in the calls).
   */
  private readonly watches = new Map<AbortSignal, SignalWatch>()
  private nextId = 1
  private paused = false
  private closedWith: Error | undefined
  private isClosed = false

  constructor (channel: Channel, init: RpcPeerInit = {}) {
    this.channel = channel
    this.handlers = init.handlers ?? {}
    this.maxConcurrent = init.maxConcurrentHandlers ?? RPC_MAX_CONCURRENT_HANDLERS
    this.timeoutMs = init.timeoutMs ?? RPC_TIMEOUT_MS
    this.transportError = init.transportError ?? ((message, cause) => new ConnectionClosedError(message, { cause }))
    this.onCloseCallback = init.onClose
    this.onHandlerError = init.onHandlerError
    this.decoder = new FrameDecoder(undefined, init.requestBufferPool)
    channel.start({
      data: (chunk, transient) => { this.onData(chunk, transient === true) },
      end: (err) => { this.shutdown(err) }
    })
  }

  get closed (): boolean {
    return this.isClosed
  }

  async request<T> (method: string, params?: unknown, options: CallOptions = {}): Promise<T> {
    return (await this.call<T>(method, params, options)).value
  }

  async call<T> (method: string, params?: unknown, options: CallOptions = {}): Promise<CallResult<T>> {
    if (this.isClosed) {
      throw this.transportError(`connection to ${this.channel.label} is closed`, this.closedWith)
    }
    options.signal?.throwIfAborted()
    const id = this.nextId++
    const header = encodeMessage({ k: 'q', i: id, m: method, p: params ?? null })
    const timeoutMs = options.timeoutMs ?? this.timeoutMs

    const signal = options.signal
    const result = new Promise<CallResult<T>>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        if (signal !== undefined) this.unwatch(signal, id)
      }
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.forget(id)
          this.sendCancel(id)
          reject(new TimeoutError(`${this.channel.label} did not answer ${method} within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      if (signal !== undefined) this.watch(signal, id)
      this.pending.set(id, {
        method,
        resolve: resolve as (r: CallResult<unknown>) => void,
        reject,
        cleanup
      })
    })

    // the channel can break while the request is still being written: shutdown() then rejects
    // `result` before anyone awaits it, and the write's own error is what the caller gets
    result.catch(() => {})
    try {
      await this.channel.write(encodeFrame(header, options.body))
    } catch (err) {
      this.forget(id)
      if (err instanceof CairnError) throw err
      throw this.transportError(`could not send ${method} to ${this.channel.label}: ${(err as Error).message}`, err)
    }
    return await result
  }

  async close (): Promise<void> {
    if (this.isClosed) return
    await this.channel.close()
    this.shutdown()
  }

  abort (err: Error): void {
    this.channel.abort(err)
    this.shutdown(err)
  }

  private watch (signal: AbortSignal, id: number): void {
    let watch = this.watches.get(signal)
    if (watch === undefined) {
      const ids = new Set<number>()
      const listener = (): void => {
        for (const callId of [...ids]) {
          const entry = this.pending.get(callId)
          if (entry === undefined) continue
          this.forget(callId)
          this.sendCancel(callId)
          entry.reject(new AbortedError(`${entry.method} was cancelled`))
        }
      }
      watch = { ids, listener }
      this.watches.set(signal, watch)
      signal.addEventListener('abort', listener, { once: true })
    }
    watch.ids.add(id)
  }

  private unwatch (signal: AbortSignal, id: number): void {
    const watch = this.watches.get(signal)
    if (watch === undefined) return
    watch.ids.delete(id)
    if (watch.ids.size > 0) return
    this.watches.delete(signal)
    signal.removeEventListener('abort', watch.listener)
  }

  private forget (id: number): void {
    const entry = this.pending.get(id)
    if (entry === undefined) return
    this.pending.delete(id)
    entry.cleanup()
  }

  private sendCancel (id: number): void {
    if (this.isClosed) return
    this.channel.write(encodeFrame(encodeMessage({ k: 'c', i: id }))).catch(() => {})
  }

  private onData (chunk: Uint8Array, transient: boolean): void {
    this.decoder.push(chunk, transient)
    this.pump()
  }

  private pump (): void {
    try {
      while (!this.paused && !this.isClosed) {
        const frame = this.decoder.next()
        if (frame === undefined) return
        this.dispatch(frame)
      }
    } catch (err) {
      const failure = err instanceof CairnError ? err : new ProtocolError(`bad message from ${this.channel.label}`, { cause: err })
      this.abort(failure)
    }
  }

  private dispatch (frame: Frame): void {
    const msg = decodeMessage(frame.header) as { k?: unknown, i?: unknown }
    if (msg === null || typeof msg !== 'object' || typeof msg.i !== 'number') {
      throw new ProtocolError(`${this.channel.label} sent a message without an id`)
    }
    switch (msg.k) {
      case 'q': this.serve(msg as { i: number, m: unknown, p: unknown }, frame.body, frame.release); return
      case 'r': this.settle(msg.i, (p) => { p.resolve(withBody((msg as { v: unknown }).v, frame.body)) }); return
      case 'e': this.settle(msg.i, (p) => { p.reject(errorFromWire(asWireError((msg as { e: unknown }).e))) }); return
      case 'c': this.active.get(msg.i)?.abort(); return
      default: throw new ProtocolError(`${this.channel.label} sent a message of unknown kind ${String(msg.k)}`)
    }
  }

  private settle (id: number, fn: (p: Pending) => void): void {
    const entry = this.pending.get(id)
    // an answer to a call we already gave up on (timeout, abort) is dropped
    if (entry === undefined) return
    this.pending.delete(id)
    entry.cleanup()
    fn(entry)
  }

  private serve (msg: { i: number, m: unknown, p: unknown }, body: Uint8Array | undefined, release: (() => void) | undefined): void {
    const id = msg.i
    const method = typeof msg.m === 'string' ? msg.m : ''
    const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined
    const controller = new AbortController()
    this.active.set(id, controller)
    if (this.active.size >= this.maxConcurrent) {
      this.paused = true
      this.channel.pause()
    }

    const run = async (): Promise<unknown> => {
      if (handler === undefined) {
        throw new UnknownMethodError(`${method === '' ? 'a nameless method' : method} is not served here`, {
          hint: 'the peers may run different Cairn versions'
        })
      }
      const ctx: RequestContext = { signal: controller.signal, peer: this }
      if (body !== undefined) ctx.body = body
      return await handler(msg.p, ctx)
    }

    run().then(async (value) => {
      if (controller.signal.aborted || this.isClosed) return
      const reply = value instanceof Reply
        ? encodeFrame(encodeMessage({ k: 'r', i: id, v: value.value ?? null }), value.body)
        : encodeFrame(encodeMessage({ k: 'r', i: id, v: value ?? null }))
      await this.channel.write(reply)
    }, async (err: unknown) => {
      if (!(err instanceof CairnError)) this.onHandlerError?.(method, err)
      if (controller.signal.aborted || this.isClosed) return
      await this.channel.write(encodeFrame(encodeMessage({ k: 'e', i: id, e: errorToWire(err) })))
    }).catch(() => {
      // the channel broke while answering; shutdown() has the details
    }).finally(() => {
      release?.()
      this.active.delete(id)
      if (this.paused && this.active.size < this.maxConcurrent) {
        this.paused = false
        if (!this.isClosed) this.channel.resume()
        this.pump()
      }
    })
  }

  private shutdown (err?: Error): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closedWith = err
    const failure = this.transportError(
      `connection to ${this.channel.label} closed${err === undefined ? '' : `: ${err.message}`}`, err)
    for (const [id, entry] of this.pending) {
      this.pending.delete(id)
      entry.cleanup()
      entry.reject(failure)
    }
    for (const controller of this.active.values()) controller.abort()
    this.onCloseCallback?.(err)
  }
}

function withBody<T> (value: T, body: Uint8Array | undefined): CallResult<T> {
  return body === undefined ? { value } : { value, body }
}

function asWireError (value: unknown): WireError {
  const e = (value ?? {}) as Partial<WireError>
  const wire: WireError = {
    name: typeof e.name === 'string' ? e.name : 'CairnError',
    code: typeof e.code === 'string' ? e.code : 'ERR_CAIRN',
    message: typeof e.message === 'string' ? e.message : 'the peer reported an error without a message'
  }
  if (typeof e.hint === 'string') wire.hint = e.hint
  return wire
}
