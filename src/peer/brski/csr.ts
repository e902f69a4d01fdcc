/**
 * The pledge's PKCS#10 for its LDevID: a key pair made for it (never the IDevID key), of the type
 * the server's CSR-Attributes ask for (EC P-256 when they ask nothing), and, when asked, the
 * channel binding in challengePassword (../shared/specs/teap-brski.md §4.3 and §8 item 7).
 */
import 'reflect-metadata';
import { type KeyObject, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CsrAttributeRequest, CsrHash, CsrKeyRequest } from './csr-attributes.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface PledgeCsr {
  der: Uint8Array;
  privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo of the new key, to recognise our LDevID in the PKCS#7. */
  spki: Uint8Array;
  key: CsrKeyRequest;
}

export interface CsrInput {
  request: CsrAttributeRequest;
  /** Required when the request asks for challengePassword. */
  channelBinding?: Uint8Array;
}

const DEFAULT_KEY: CsrKeyRequest = { kind: 'ec', curve: 'P-256' };
const CURVE_HASH: Record<'P-256' | 'P-384' | 'P-521', CsrHash> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };

export class CsrError extends Error {
  override readonly name = 'CsrError';
}

export async function createPledgeCsr(input: CsrInput): Promise<PledgeCsr> {
  const key = input.request.key ?? DEFAULT_KEY;
  const hash = input.request.hash ?? (key.kind === 'ec' ? CURVE_HASH[key.curve] : 'SHA-256');
  if (input.request.challengePassword && !input.channelBinding) throw new CsrError('challengePassword asked for, and this tunnel has no channel binding');
  const keyParams: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams =
    key.kind === 'ec'
      ? { name: 'ECDSA', namedCurve: key.curve }
      : { name: 'RSASSA-PKCS1-v1_5', modulusLength: key.bits, publicExponent: new Uint8Array([1, 0, 1]), hash };
  const keys = (await webcrypto.subtle.generateKey(keyParams, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const signingAlgorithm = key.kind === 'ec' ? { name: 'ECDSA', hash } : { name: 'RSASSA-PKCS1-v1_5' };
  const attributes: x509.Attribute[] = [];
  if (input.request.challengePassword && input.channelBinding) {
    attributes.push(new x509.ChallengePasswordAttribute(Buffer.from(input.channelBinding).toString('base64')));
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // An empty subject: the registrar names the LDevID by its policy (teap-brski.md §4.3) and
    // refuses a CSR naming anything else, and the pledge does not know the name it will get.
    keys,
    signingAlgorithm,
    attributes,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  return { der: new Uint8Array(csr.rawData), privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), spki, key };
}
