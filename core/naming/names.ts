import { peerIdFromCID, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, PublicKey } from '@libp2p/interface'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { InvalidPathError } from '../errors.ts'

/**
 * An IPNS name: the hash of a public key. Shown as Kubo shows it, a CIDv1
 * with the libp2p-key codec in base36 (`k51...`); accepted also as a peer id
 * (`12D3...`) or in any multibase.
 */
export interface Name {
  peerId: PeerId
  /** k51... */
  text: string
  /** The multihash bytes: the namenode's key for the name. */
  bytes: Uint8Array
}

export function nameOfKey (publicKey: PublicKey): Name {
  return fromPeerId(peerIdFromPublicKey(publicKey))
}

export function parseName (text: string): Name {
  const trimmed = text.trim()
  try {
    if (trimmed.startsWith('12D3') || trimmed.startsWith('Qm') || trimmed.startsWith('16Uiu')) {
      return fromPeerId(peerIdFromString(trimmed))
    }
    return fromPeerId(peerIdFromCID(CID.parse(trimmed, trimmed.startsWith('k') ? base36 : undefined)))
  } catch (err) {
    const looksLikeDns = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(trimmed)
    throw new InvalidPathError(looksLikeDns
      ? `"${trimmed}" looks like a DNS name; Cairn resolves IPNS key names (k51...), not DNSLink`
      : `"${trimmed}" is not an IPNS name`, {
      cause: err,
      hint: 'a name looks like k51qzi5uqu5d...; cairn key ls shows your names'
    })
  }
}

function fromPeerId (peerId: PeerId): Name {
  return { peerId, text: peerId.toCID().toString(base36), bytes: peerId.toMultihash().bytes }
}
