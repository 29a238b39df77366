import type { Stream } from '@libp2p/interface'
import type { Socket } from 'node:net'

/**
 * A byte pipe the RPC layer runs over: a libp2p stream (control plane, and the
 * block protocol for peers without a data port) or a TLS socket (the bulk data
 * channel). Reading is push-based with pause/resume so the RPC layer can stop
 * the flow when its handlers are saturated; neither transport's async
 * iterator offers that (libp2p's buffers without limit).
 */
export interface Channel {
  /** Who is on the other end, for logs and errors. */
  readonly label: string
  /** Starts delivering incoming bytes. `end` runs once, with an error if the close was not clean. */
  start (sink: ChannelSink): void
  pause (): void
  resume (): void
  /** Writes the parts of one frame contiguously; resolves once more may be written. */
  write (parts: Uint8Array[]): Promise<void>
  /** Closes our side after pending writes. */
  close (): Promise<void>
  /** Tears the channel down now. */
  abort (err: Error): void
}

export interface ChannelSink {
  /** `transient`: `chunk` is reused once this returns; keep a copy of what is kept. */
  data (chunk: Uint8Array, transient?: boolean): void
  end (err?: Error): void
}

/**
 * Hands a socket's reads to the channel's sink when the socket reads into
 * one reused buffer (net/tls `onread`) instead of a fresh buffer per read:
 * a 1 MiB block arrives as dozens of reads, and each fresh buffer is memory
 * to allocate, fault in and collect. Bytes that arrive before the channel
 * starts are kept (copied) until it does.
 */
export class ReusedReadBuffer {
  readonly buffer: Buffer
  private sink: ChannelSink | undefined
  private early: Uint8Array[] = []

  constructor (bytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafeSlow(bytes)
  }

  /** The `onread` option for net.connect / tls.connect. */
  get onread (): { buffer: Buffer, callback: (bytes: number, buffer: Buffer) => boolean } {
    // true: keep reading (the channel pauses the socket itself when it must)
    return { buffer: this.buffer, callback: (bytes) => { this.deliver(this.buffer.subarray(0, bytes)); return true } }
  }

  attach (sink: ChannelSink): void {
    this.sink = sink
    for (const chunk of this.early) sink.data(chunk)
    this.early = []
  }

  private deliver (chunk: Uint8Array): void {
    if (this.sink === undefined) this.early.push(new Uint8Array(chunk))
    else this.sink.data(chunk, true)
  }
}

/** Parts smaller than this are gathered into one write. */
const SMALL_PART_BYTES = 16 * 1024

/** libp2p buffers this much while paused before resetting a stream; above the yamux window. */
const STREAM_READ_BUFFER_BYTES = 64 * 1024 * 1024

export function streamChannel (stream: Stream, label: string): Channel {
  stream.maxReadBufferLength = STREAM_READ_BUFFER_BYTES
  // control streams are long-lived and may idle between requests
  stream.inactivityTimeout = 0
  let ended = false
  let draining: Promise<void> | undefined
  return {
    label,
    start (sink) {
      const end = (err?: Error): void => {
        if (ended) return
        ended = true
        sink.end(err)
      }
      stream.addEventListener('message', (evt) => {
        const data = evt.data
        sink.data(data instanceof Uint8Array ? data : data.subarray())
      })
      stream.addEventListener('remoteCloseWrite', () => { end() })
      stream.addEventListener('close', (evt) => { end(evt.error) })
      if (stream.status !== 'open') end()
    },
    pause () {
      if (stream.readStatus === 'readable') stream.pause()
    },
    resume () {
      if (stream.readStatus === 'paused') stream.resume()
    },
    async write (parts) {
      // wait while the buffer is full, so many concurrent writers queue here
      // instead of all piling their frames into the stream's buffer
      while (stream.writableNeedsDrain) {
        draining ??= streamDrain(stream).finally(() => { draining = undefined })
        await draining
      }
      // every part is handed over synchronously so frames never interleave
      for (const part of parts) stream.send(part)
    },
    async close () {
      await stream.close().catch(() => { stream.abort(new Error('close failed')) })
    },
    abort (err) {
      stream.abort(err)
    }
  }
}

/** `reads`: set when the socket was made with that reader's `onread` (it then emits no 'data'). */
export function socketChannel (socket: Socket, label: string, reads?: ReusedReadBuffer): Channel {
  let ended = false
  // every writer waiting for the same drain shares one listener
  let draining: Promise<void> | undefined
  return {
    label,
    start (sink) {
      const end = (err?: Error): void => {
        if (ended) return
        ended = true
        sink.end(err)
      }
      if (reads !== undefined) reads.attach(sink)
      else socket.on('data', (chunk: Buffer) => { sink.data(chunk) })
      socket.on('end', () => { end() })
      socket.on('error', (err) => { end(err) })
      socket.on('close', () => { end() })
      if (socket.destroyed) end()
    },
    pause () { socket.pause() },
    resume () { socket.resume() },
    async write (parts) {
      // wait while the buffer is full, so many concurrent writers queue here
      // instead of all piling their frames (and their ciphertext) into it
      while (socket.writableNeedDrain) {
        draining ??= waitForDrain(socket).finally(() => { draining = undefined })
        await draining
      }
      if (socket.destroyed || socket.writableEnded) throw new Error('socket is closed')
      // Not cork/writev: on a TLS socket Node flattens a writev into one new
      // buffer before encrypting, a full extra copy of every block. The small
      // header goes in one write and the body in another.
      const body = parts.length > 1 && (parts.at(-1)?.byteLength ?? 0) > SMALL_PART_BYTES ? parts.at(-1) : undefined
      const head = body === undefined ? parts : parts.slice(0, -1)
      socket.write(head.length === 1 ? head[0] as Uint8Array : Buffer.concat(head))
      if (body !== undefined) socket.write(body)
    },
    async close () {
      if (socket.destroyed) return
      await new Promise<void>((resolve) => {
        socket.once('close', () => { resolve() })
        socket.end()
        // a peer that never closes its side must not hold us forever
        setTimeout(() => { socket.destroy(); resolve() }, 2_000).unref()
      })
    },
    abort (err) {
      socket.destroy(err)
    }
  }
}

/**
 * Resolves on the stream's next 'drain'. Not `stream.onDrain()`: in
 * @libp2p/utils 7.4 its promise is resolved at the first drain and never
 * renewed, so every later call returns at once even when the buffer is full
 * (a write loop around it spins forever).
 */
function streamDrain (stream: Stream): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (evt: Event): void => {
      cleanup()
      reject((evt as Event & { error?: Error }).error ?? new Error('stream closed while writing'))
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

function waitForDrain (socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('drain', onDrain)
      socket.off('close', onClose)
    }
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (): void => { cleanup(); reject(new Error('socket closed while writing')) }
    socket.on('drain', onDrain)
    socket.on('close', onClose)
  })
}
