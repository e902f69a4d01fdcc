/**
 * The randomness EAP-NOOB consumes, behind one interface so that tests can replay the published
 * vectors byte for byte (fixed PeerId, nonces, Noob and RFC 7748/5903 key pairs).
 */
import { randomOctets } from '../../util/random-octets.js';

import { randomB64urlChars } from '../base64url.js';
import { generateKeyPair, type Cryptosuite, type EphemeralKeyPair, type JwkOptions } from './cryptosuites.js';

export interface NoobRandom {
  /** A fresh, unguessable PeerId (RFC 9140 recommends 22 characters). */
  peerId(): string;
  /** A 32-byte nonce (Ns, Np, Ns2, Np2). */
  nonce(): Uint8Array;
  /** A 16-byte Noob. */
  noob(): Uint8Array;
  /** A fresh ECDHE key pair. */
  keyPair(suite: Cryptosuite, opts: JwkOptions): EphemeralKeyPair;
}

export const systemRandom: NoobRandom = {
  peerId: () => {
    // 22 characters of the base64url alphabet, about 132 bits from the CSPRNG, never beginning with
    // '-': operators pass PeerIds on command lines (noob-oob --reset-owner, --issue), where a
    // leading dash reads as an option.
    for (;;) {
      const id = randomB64urlChars(randomOctets(22));
      if (!id.startsWith('-')) return id;
    }
  },
  nonce: () => randomOctets(32),
  noob: () => randomOctets(16),
  keyPair: (suite, opts) => generateKeyPair(suite, opts),
};
