import { createCipheriv, timingSafeEqual } from 'node:crypto';
import { digestInto } from '../../util/digest.js';
import { md4 } from './md4.js';
import { nativeAddonPart } from '../../util/native-addon.js';

/**
 * MS-CHAPv2 algorithms (RFC 2759 §8) and its key derivation (RFC 3079 §3.3-3.4), as pure functions
 * over bytes. Names follow the RFCs' pseudo-code.
 */

/** A plain Uint8Array of its own: the master and start keys are cut from these. */
function sha1(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(20);
  digestInto('sha1', parts, out);
  return out;
}

/** The user name the algorithms hash: RFC 2759 §8.2 strips any "DOMAIN\" prefix. */
export function stripDomain(username: string): string {
  const i = username.lastIndexOf('\\');
  return i >= 0 ? username.slice(i + 1) : username;
}

/** NtPasswordHash = MD4(UTF-16LE(password)) (RFC 2759 §8.3). */
export function ntPasswordHash(password: string): Uint8Array {
  return md4(new Uint8Array(Buffer.from(password, 'utf16le')));
}

/** HashNtPasswordHash = MD4(NtPasswordHash) (RFC 2759 §8.4). */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/** ChallengeHash = SHA1(PeerChallenge ‖ AuthenticatorChallenge ‖ UserName)[0..7] (RFC 2759 §8.2). */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, username: string): Uint8Array {
  return sha1(peerChallenge, authenticatorChallenge, Buffer.from(stripDomain(username), 'utf8')).slice(0, 8);
}

/** Spreads 56 key bits over 8 octets, 7 bits each; the parity bit (bit 0) is set to odd parity. */
export function desKeyWithParity(key7: Uint8Array): Uint8Array {
  const k = key7;
  const out = Uint8Array.of(
    k[0]!,
    ((k[0]! << 7) | (k[1]! >> 1)) & 0xff,
    ((k[1]! << 6) | (k[2]! >> 2)) & 0xff,
    ((k[2]! << 5) | (k[3]! >> 3)) & 0xff,
    ((k[3]! << 4) | (k[4]! >> 4)) & 0xff,
    ((k[4]! << 3) | (k[5]! >> 5)) & 0xff,
    ((k[5]! << 2) | (k[6]! >> 6)) & 0xff,
    (k[6]! << 1) & 0xff,
  );
  for (let i = 0; i < 8; i++) {
    let v = out[i]! & 0xfe;
    let ones = 0;
    for (let b = v; b; b >>= 1) ones += b & 1;
    if (ones % 2 === 0) v |= 1;
    out[i] = v;
  }
  return out;
}

/**
 * DesEncrypt(Clear, Key) with a 7-octet key (RFC 2759 §8.6). Single DES is not in OpenSSL 3's
 * default provider; 3DES-EDE with K1 = K2 = K3 collapses to single DES (E_K(D_K(E_K(x))) = E_K(x)).
 */
export function desEncrypt(clear: Uint8Array, key7: Uint8Array): Uint8Array {
  const k = desKeyWithParity(key7);
  const key = new Uint8Array(24);
  key.set(k, 0);
  key.set(k, 8);
  key.set(k, 16);
  const c = createCipheriv('des-ede3-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(clear), c.final()]));
}

interface DesAddon {
  /** RFC 2759 §8.5 into `out` (24 octets) from a 16-octet hash and an 8-octet challenge (native/des.c). */
  challengeResponse(passwordHash: Uint8Array, challenge: Uint8Array, out: Uint8Array): void;
}

/**
 * node:crypto spends about 8 µs on each of the three DES cipher objects; the addon does all three
 * in well under one. GANGWAY_NATIVE_DES=0 or an addon without it: node:crypto (the same values,
 * compared on random inputs in test/eap-methods/mschapv2/ms-chap-v2.test.ts).
 */
const nativeDes = nativeAddonPart<DesAddon>('GANGWAY_NATIVE_DES', ['challengeResponse']);

/** Which implementation computes MS-CHAPv2's DES in this process. */
export const desEngine: 'native' | 'node' = nativeDes ? 'native' : 'node';

/** ChallengeResponse (RFC 2759 §8.5): three DES encryptions of the challenge under the padded hash. */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  if (nativeDes && challenge.length === 8 && passwordHash.length === 16) {
    const out = new Uint8Array(24);
    nativeDes.challengeResponse(passwordHash, challenge, out);
    return out;
  }
  return nodeChallengeResponse(challenge, passwordHash);
}

/** ChallengeResponse through node:crypto's DES: the fallback, and the reference the native one is tested against. */
export function nodeChallengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  const z = new Uint8Array(21);
  z.set(passwordHash.subarray(0, 16));
  const out = new Uint8Array(24);
  out.set(desEncrypt(challenge, z.subarray(0, 7)), 0);
  out.set(desEncrypt(challenge, z.subarray(7, 14)), 8);
  out.set(desEncrypt(challenge, z.subarray(14, 21)), 16);
  return out;
}

/** GenerateNTResponse from the NT hash (RFC 2759 §8.1). */
export function generateNtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  username: string,
  passwordHash: Uint8Array,
): Uint8Array {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, username), passwordHash);
}

const MAGIC1 = Buffer.from('Magic server to client signing constant', 'ascii');
const MAGIC2 = Buffer.from('Pad to make it do more than one iteration', 'ascii');

/** GenerateAuthenticatorResponse (RFC 2759 §8.7): "S=" + 40 upper-case hex digits. */
export function generateAuthenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  username: string,
): string {
  const digest = sha1(hashNtPasswordHash(passwordHash), ntResponse, MAGIC1);
  const ch = challengeHash(peerChallenge, authenticatorChallenge, username);
  return 'S=' + Buffer.from(sha1(digest, ch, MAGIC2)).toString('hex').toUpperCase();
}

/** CheckAuthenticatorResponse (RFC 2759 §8.8), comparing in constant time; hex case is ignored. */
export function checkAuthenticatorResponse(expected: string, received: string): boolean {
  const a = Buffer.from(expected.toUpperCase(), 'ascii');
  const b = Buffer.from(received.toUpperCase(), 'ascii');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time comparison of two NT-Responses. */
export function ntResponseEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const MASTER_MAGIC = Buffer.from('This is the MPPE Master Key', 'ascii');
/** RFC 3079 §3.4 Magic2: "On the client side, this is the send key; on the server side, it is the receive key." */
export const MPPE_MAGIC2 = Buffer.from('On the client side, this is the send key; on the server side, it is the receive key.', 'ascii');
/** RFC 3079 §3.4 Magic3: "On the client side, this is the receive key; on the server side, it is the send key." */
export const MPPE_MAGIC3 = Buffer.from('On the client side, this is the receive key; on the server side, it is the send key.', 'ascii');
const SHS_PAD1 = new Uint8Array(40);
const SHS_PAD2 = new Uint8Array(40).fill(0xf2);

/** GetMasterKey (RFC 3079 §3.4): SHA1(PasswordHashHash ‖ NT-Response ‖ Magic1)[0..15]. */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  return sha1(passwordHashHash, ntResponse, MASTER_MAGIC).slice(0, 16);
}

/** GetAsymmetricStartKey (RFC 3079 §3.4) for 16-octet keys. */
export function getAsymmetricStartKey(masterKey: Uint8Array, isSend: boolean, isServer: boolean): Uint8Array {
  const magic = isSend === isServer ? MPPE_MAGIC3 : MPPE_MAGIC2;
  return sha1(masterKey, SHS_PAD1, magic, SHS_PAD2).slice(0, 16);
}

export interface MschapV2Keys {
  masterKey: Uint8Array;
  /** K(Magic2): server MasterReceiveKey = client MasterSendKey = MS-MPPE-Recv-Key. */
  serverReceiveKey: Uint8Array;
  /** K(Magic3): server MasterSendKey = client MasterReceiveKey = MS-MPPE-Send-Key. */
  serverSendKey: Uint8Array;
  /**
   * The 32-octet EAP-MSCHAPv2 MSK as hostapd/wpa_supplicant export it: server receive key ‖ server
   * send key (both ends compute the same bytes). TEAP swaps the halves under RFC 9930 (see
   * teap-brski/teap/compat.ts `mschapv2ImskOrder`).
   */
  msk: Uint8Array;
}

export function deriveMschapV2Keys(passwordHash: Uint8Array, ntResponse: Uint8Array): MschapV2Keys {
  const masterKey = getMasterKey(hashNtPasswordHash(passwordHash), ntResponse);
  const serverReceiveKey = getAsymmetricStartKey(masterKey, false, true);
  const serverSendKey = getAsymmetricStartKey(masterKey, true, true);
  const msk = new Uint8Array(32);
  msk.set(serverReceiveKey, 0);
  msk.set(serverSendKey, 16);
  return { masterKey, serverReceiveKey, serverSendKey, msk };
}

/** The EAP-FAST-MSCHAPv2 / RFC 9930 §3.6.3 IMSK: the two halves of the MSK swapped. */
export function swapMskHalves(msk: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  out.set(msk.subarray(16, 32), 0);
  out.set(msk.subarray(0, 16), 16);
  return out;
}
