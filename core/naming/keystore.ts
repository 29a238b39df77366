import { chmod, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidArgumentError, KeyError, NotFoundError } from '../errors.ts'
import { nameOfKey } from './names.ts'
import type { Name } from './names.ts'
import { makeDirectories } from '../util/mkdirs.ts'

/** The key every keystore has, as in Kubo. */
export const SELF_KEY = 'self'
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const SUFFIX = '.key'

export type KeyType = 'ed25519' | 'secp256k1' | 'rsa'

export interface KeyInfo {
  /** The local name of the key (self, blog, ...). */
  key: string
  /** The IPNS name it signs for. */
  name: Name
  type: string
}

/**
 * Private keys for IPNS names, one file each (libp2p protobuf, as `ipfs key
 * export` writes them), readable by the owner only. They never leave the
 * client: the namenode sees signed records, not keys.
 */
export class Keystore {
  readonly dir: string

  constructor (dir: string) {
    this.dir = path.resolve(dir)
  }

  async list (): Promise<KeyInfo[]> {
    await this.ensureSelf()
    const files = (await readdir(this.dir)).filter((f) => f.endsWith(SUFFIX)).sort()
    return await Promise.all(files.map(async (file) => {
      const key = file.slice(0, -SUFFIX.length)
      const privateKey = await this.load(key)
      return { key, name: nameOfKey(privateKey.publicKey), type: privateKey.type.toLowerCase() }
    }))
  }

  async get (key: string): Promise<PrivateKey> {
    checkName(key)
    if (key === SELF_KEY) await this.ensureSelf()
    return await this.load(key)
  }

  async info (key: string): Promise<KeyInfo> {
    const privateKey = await this.get(key)
    return { key, name: nameOfKey(privateKey.publicKey), type: privateKey.type.toLowerCase() }
  }

  async generate (key: string, type: KeyType = 'ed25519'): Promise<KeyInfo> {
    checkName(key)
    const privateKey = type === 'ed25519'
      ? await generateKeyPair('Ed25519')
      : type === 'secp256k1' ? await generateKeyPair('secp256k1') : await generateKeyPair('RSA', 2048)
    await this.store(key, privateKey, false)
    return { key, name: nameOfKey(privateKey.publicKey), type }
  }

  /** Reads a key exported by Cairn or Kubo (libp2p protobuf). */
  async import (key: string, bytes: Uint8Array): Promise<KeyInfo> {
    checkName(key)
    let privateKey: PrivateKey
    try {
      privateKey = privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new KeyError('the file is not a private key in libp2p protobuf form', {
        cause: err,
        hint: 'export it with `cairn key export` or `ipfs key export` (the default format)'
      })
    }
    await this.store(key, privateKey, false)
    return { key, name: nameOfKey(privateKey.publicKey), type: privateKey.type.toLowerCase() }
  }

  async export (key: string): Promise<Uint8Array> {
    return privateKeyToProtobuf(await this.get(key))
  }

  async remove (key: string): Promise<void> {
    checkName(key)
    if (key === SELF_KEY) throw new KeyError('the self key cannot be removed', { hint: 'it is the default key of every name command' })
    await this.get(key)
    await rm(this.fileOf(key))
  }

  async rename (from: string, to: string): Promise<void> {
    checkName(to)
    const privateKey = await this.get(from)
    if (from === SELF_KEY) throw new KeyError('the self key cannot be renamed')
    await this.store(to, privateKey, false)
    await rm(this.fileOf(from))
  }

  async ensureSelf (): Promise<void> {
    await makeDirectories(this.dir, 0o700)
    try {
      await this.load(SELF_KEY)
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
      await this.store(SELF_KEY, await generateKeyPair('Ed25519'), true)
    }
  }

  private async load (key: string): Promise<PrivateKey> {
    let bytes: Uint8Array
    try {
      bytes = await readFile(this.fileOf(key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`no key named "${key}"`, { hint: 'cairn key ls lists your keys; cairn key gen makes one' })
      }
      throw new KeyError(`cannot read key "${key}": ${(err as Error).message}`, { cause: err })
    }
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new KeyError(`the key file for "${key}" is damaged`, { cause: err, hint: `restore ${this.fileOf(key)} from a backup` })
    }
  }

  private async store (key: string, privateKey: PrivateKey, overwrite: boolean): Promise<void> {
    await makeDirectories(this.dir, 0o700)
    const file = this.fileOf(key)
    const temp = `${file}.${process.pid}.tmp`
    await writeFile(temp, privateKeyToProtobuf(privateKey), { mode: 0o600 })
    await chmod(temp, 0o600)
    if (!overwrite) {
      // link-like exclusivity: refuse to replace an existing key
      try {
        await writeFile(file, new Uint8Array(0), { flag: 'wx', mode: 0o600 })
      } catch (err) {
        await rm(temp, { force: true })
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new KeyError(`a key named "${key}" already exists`, { hint: 'choose another name, or cairn key rm it first' })
        }
        throw err
      }
    }
    await rename(temp, file)
  }

  private fileOf (key: string): string {
    return path.join(this.dir, `${key}${SUFFIX}`)
  }
}

function checkName (key: string): void {
  if (!KEY_NAME.test(key)) {
    throw new InvalidArgumentError(`"${key}" is not a usable key name`, {
      hint: 'use up to 64 letters, digits, dots, dashes and underscores, starting with a letter or digit'
    })
  }
}
