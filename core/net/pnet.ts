/**
 * Private-network (pnet) connection protector: only nodes holding the same
 * cluster key can talk to each other. Speaks the libp2p pnet v1 wire protocol
 * (interoperates with @libp2p/pnet and go-libp2p): each side sends a random
 * 24-byte nonce, then XORs all it sends with the XSalsa20 keystream of (its
 * nonce, key) and all it receives with that of (the peer's nonce, key).
 *
 * Not @libp2p/pnet itself: its WASM cipher fails on large writes and never
 * frees its per-connection slots, so a long-lived namenode eventually cannot
 * open connections. Here all state lives and dies with the connection.
 */
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import { ClusterKeyError, ConnectionClosedError, InvalidArgumentError, TimeoutError } from '../errors.ts'
import type { AbortOptions, ConnectionProtector, Logger, MessageStream, MultiaddrConnection, StreamMessageEvent } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

type Bytes = StreamMessageEvent['data'] // Uint8Array | Uint8ArrayList

export interface ClusterProtectorInit {
  /** The bytes of a v1 key file (see `generateClusterKey`). */
  key: Uint8Array
  /**
   * How long to wait for the peer's nonce before failing the connection.
   * A peer without a cluster key never sends one, so without this the dial
   * would hang until libp2p's own (longer) upgrade timeout. Default 5000 ms.
   */
  handshakeTimeoutMs?: number
}

const HEADER = '/key/swarm/psk/1.0.0/'
const ENCODING = '/base16/'
const KEY_LENGTH = 32
const NONCE_LENGTH = 24
const BLOCK = 64
// Bytes per cipher call, and per message handed to the transport: bounds the
// memory one write can pin, whatever the caller queued. A multiple of BLOCK.
const PIECE = 64 * 1024
// @noble/ciphers refuses block counters past 2^32 - 1 (the protocol allows 2^64).
const MAX_STREAM_BYTES = (2 ** 32 - 1) * BLOCK
// Every libp2p peer (js or go) opens with multistream-select's header right
// after the nonces; if the peer's first bytes do not decrypt to it, the peer's
// key differs from ours. Checking turns a wrong key into an immediate, clear
// error instead of a garbled negotiation that waits for libp2p's timeouts.
const GREETING = new TextEncoder().encode('\x13/multistream/1.0.0\n')
const KEY_HINT = 'every node and client of a cluster needs the same cluster key file; compare them'
const FORMAT_HINT = `the file should be 3 lines: ${HEADER}, ${ENCODING}, 64 hex characters (generate one with generateClusterKey)`

/** The bytes of a new v1 key file holding 32 random bytes. */
export function generateClusterKey (): Uint8Array {
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(KEY_LENGTH)), (b) => b.toString(16).padStart(2, '0')).join('')
  return new TextEncoder().encode(`${HEADER}\n${ENCODING}\n${hex}\n`)
}

/** The 32-byte key in a v1 key file; throws ClusterKeyError saying what is wrong. */
export function decodeClusterKey (file: Uint8Array): Uint8Array {
  // trimEnd per line: tolerate CRLF files and stray trailing spaces from editors
  const lines = new TextDecoder().decode(file).split('\n').map((line) => line.trimEnd())
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const [header = '', encoding = '', hex = '', ...rest] = lines
  if (header !== HEADER) invalidKey(`the first line should be ${HEADER}, found ${JSON.stringify(header)}`)
  if (encoding !== ENCODING) invalidKey(`the second line should be ${ENCODING} (the only encoding supported), found ${JSON.stringify(encoding)}`)
  if (hex.length !== KEY_LENGTH * 2) invalidKey(`the key should be ${KEY_LENGTH * 2} hex characters, found ${hex.length}`)
  if (!/^[0-9a-fA-F]*$/.test(hex)) invalidKey('the key contains characters that are not hex digits')
  if (rest.length > 0) invalidKey(`unexpected content after the key (${rest.length} more lines)`)
  const key = new Uint8Array(KEY_LENGTH)
  for (let i = 0; i < KEY_LENGTH; i++) key[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return key
}

function invalidKey (message: string): never {
  throw new ClusterKeyError(`invalid cluster key: ${message}`, { hint: FORMAT_HINT })
}

/** The `connectionProtector` option for `createLibp2p`. Throws ClusterKeyError on a bad key. */
export function clusterProtector (init: ClusterProtectorInit): () => ConnectionProtector {
  const psk = decodeClusterKey(init.key)
  const timeoutMs = init.handshakeTimeoutMs ?? 5000
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new InvalidArgumentError(`handshakeTimeoutMs must be a positive number of milliseconds, got ${timeoutMs}`)
  }
  return () => ({ protect: async (connection, options) => await protect(connection, psk, timeoutMs, options) })
}

async function protect (connection: MessageStream, psk: Uint8Array, timeoutMs: number, options: AbortOptions = {}): Promise<MessageStream> {
  const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))
  const timeout = new AbortController()
  const timer = setTimeout(() => { timeout.abort() }, timeoutMs)
  // libp2p always passes its own (longer) upgrade signal; ours must win too
  const signal = options.signal == null ? timeout.signal : AbortSignal.any([options.signal, timeout.signal])
  const bytes = byteStream(connection)
  try {
    const [remoteNonce] = await Promise.all([
      bytes.read({ bytes: NONCE_LENGTH, signal }),
      bytes.write(localNonce, { signal })
    ])
    // the upgrader always hands protectors the transport's MultiaddrConnection
    const maConn = bytes.unwrap() as MultiaddrConnection
    return new PrivateConnection(maConn, connection.log.newScope('pnet'), psk, localNonce, remoteNonce.subarray())
  } catch (err) {
    if (options.signal?.aborted === true) throw err
    const hint = 'the peer may not use a cluster key (private network), may not be a Cairn node, or may be overloaded or refusing connections'
    if (timeout.signal.aborted) {
      throw new TimeoutError(`cluster-key handshake with ${peerName(connection)} timed out: no nonce within ${timeoutMs} ms`, { cause: err, hint })
    }
    // a peer without a cluster key reads our nonce as a garbled handshake and hangs up
    throw new ConnectionClosedError(`${peerName(connection)} closed the connection during the cluster-key handshake`, { cause: err, hint })
  } finally {
    clearTimeout(timer)
  }
}

function peerName (connection: MessageStream): string {
  return (connection as Partial<MultiaddrConnection>).remoteAddr?.toString() ?? 'the peer'
}

/** One direction's XSalsa20 keystream, continuous across messages. */
class Keystream {
  readonly #key: Uint8Array
  readonly #nonce: Uint8Array
  #offset = 0

  constructor (psk: Uint8Array, nonce: Uint8Array) {
    this.#key = psk.slice()
    this.#nonce = nonce.slice()
  }

  xor (data: Bytes): Uint8Array {
    if (this.#offset + data.byteLength > MAX_STREAM_BYTES) {
      throw new ConnectionClosedError('private-network connection closed after carrying 256 GiB in one direction, the most its cipher supports', {
        hint: 'open a new connection; libp2p redials on the next request'
      })
    }
    // Start the buffer on a block boundary so every cipher call begins on a
    // keystream block and a 4-byte boundary (noble's fast path); the filler
    // bytes in front of the data are encrypted and dropped.
    const skip = this.#offset % BLOCK
    const buf = new Uint8Array(skip + data.byteLength)
    if (data instanceof Uint8Array) {
      buf.set(data, skip)
    } else {
      let at = skip
      for (const chunk of data) { buf.set(chunk, at); at += chunk.byteLength }
    }
    let counter = (this.#offset - skip) / BLOCK
    for (let at = 0; at < buf.byteLength; at += PIECE, counter += PIECE / BLOCK) {
      const piece = buf.subarray(at, at + PIECE)
      xsalsa20(this.#key, this.#nonce, piece, piece, counter)
    }
    this.#offset += data.byteLength
    return buf.subarray(skip)
  }

  wipe (): void { this.#key.fill(0); this.#nonce.fill(0) }
}

/** The protected connection; event handling mirrors @libp2p/pnet's BoxMessageStream. */
class PrivateConnection extends AbstractMultiaddrConnection {
  readonly #maConn: MultiaddrConnection
  readonly #inbound: Keystream
  readonly #outbound: Keystream
  #greeted = 0 // bytes of the peer's GREETING checked so far

  constructor (maConn: MultiaddrConnection, log: Logger, psk: Uint8Array, localNonce: Uint8Array, remoteNonce: Uint8Array) {
    super({ log, remoteAddr: maConn.remoteAddr, direction: maConn.direction, maxMessageSize: PIECE })
    this.#maConn = maConn
    this.#inbound = new Keystream(psk, remoteNonce)
    this.#outbound = new Keystream(psk, localNonce)

    this.addEventListener('close', () => { this.#inbound.wipe(); this.#outbound.wipe() })
    maConn.addEventListener('message', (evt) => {
      if (this.status !== 'open' && this.status !== 'closing') return
      try {
        const data = this.#inbound.xor(evt.data)
        if (!this.#checkGreeting(data)) {
          throw new ClusterKeyError(`${peerName(maConn)} uses a different cluster key: its traffic does not decrypt with ours`, { hint: KEY_HINT })
        }
        this.onData(data)
      } catch (err) {
        this.abort(err instanceof Error ? err : new Error(String(err)))
      }
    })
    maConn.addEventListener('drain', () => { this.onMuxerDrain() })
    maConn.addEventListener('close', (evt) => {
      if (this.#greeted === 0 && this.status === 'open') {
        // what a peer does on finding our greeting garbled (see GREETING); a
        // TCP reset shows up as a local abort, so `evt.local` cannot tell us
        const why = evt.error == null ? '' : ` (${evt.error.message})`
        this.abort(new ClusterKeyError(`${peerName(maConn)} hung up${why} before sending anything readable: it most likely has a different cluster key`, { hint: KEY_HINT, cause: evt.error }))
      } else if (evt.error == null) this.onTransportClosed()
      else if (evt.local) this.abort(evt.error)
      else this.onRemoteReset()
    })
  }

  #checkGreeting (data: Uint8Array): boolean {
    const n = Math.min(GREETING.length - this.#greeted, data.byteLength)
    for (let i = 0; i < n; i++) if (data[i] !== GREETING[this.#greeted + i]) return false
    this.#greeted += n
    return true
  }

  override async sendClose (options?: AbortOptions): Promise<void> {
    await this.#maConn.close(options)
  }

  override sendData (data: Bytes): SendResult {
    return { sentBytes: data.byteLength, canSendMore: this.#maConn.send(this.#outbound.xor(data)) }
  }

  override sendReset (err: Error): void { this.#maConn.abort(err) }
  override sendPause (): void { this.#maConn.pause() }
  override sendResume (): void { this.#maConn.resume() }
}
