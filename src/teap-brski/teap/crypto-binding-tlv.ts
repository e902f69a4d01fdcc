import { TeapTlvError } from './errors.js';

/**
 * Crypto-Binding TLV (RFC 9930 §4.2.13), value layout (76 octets):
 *   Reserved(1) Version(1) Received-Ver(1) Flags(4 bits)|Sub-Type(4 bits) Nonce(32)
 *   EMSK Compound-MAC(20) MSK Compound-MAC(20)
 * Every field is kept as received (including Reserved) because the Compound-MAC is computed over
 * the TLV exactly as it travelled, with only the two MAC fields zeroed.
 */
export interface CryptoBindingTlv {
  kind: 'crypto-binding';
  mandatory: boolean;
  reserved: number;
  version: number;
  receivedVersion: number;
  /** 1 = EMSK Compound-MAC present, 2 = MSK Compound-MAC present, 3 = both. */
  flags: number;
  /** 0 = Binding Request (server), 1 = Binding Response (peer). */
  subType: number;
  nonce: Uint8Array;
  emskCompoundMac: Uint8Array;
  mskCompoundMac: Uint8Array;
}

export const CRYPTO_BINDING_LENGTH = 76;
export const CRYPTO_BINDING_NONCE_LENGTH = 32;
export const COMPOUND_MAC_LENGTH = 20;

export const CryptoBindingFlags = { Emsk: 1, Msk: 2, Both: 3 } as const;
export const CryptoBindingSubType = { Request: 0, Response: 1 } as const;

export function decodeCryptoBindingValue(value: Uint8Array, mandatory: boolean): CryptoBindingTlv {
  if (value.length !== CRYPTO_BINDING_LENGTH) {
    throw new TeapTlvError(`Crypto-Binding TLV length ${value.length}, expected ${CRYPTO_BINDING_LENGTH}`);
  }
  return {
    kind: 'crypto-binding',
    mandatory,
    reserved: value[0]!,
    version: value[1]!,
    receivedVersion: value[2]!,
    flags: value[3]! >> 4,
    subType: value[3]! & 0x0f,
    nonce: value.slice(4, 36),
    emskCompoundMac: value.slice(36, 56),
    mskCompoundMac: value.slice(56, 76),
  };
}

export function encodeCryptoBindingValue(tlv: CryptoBindingTlv): Uint8Array {
  if (tlv.nonce.length !== CRYPTO_BINDING_NONCE_LENGTH) throw new TeapTlvError('Crypto-Binding nonce must be 32 octets');
  if (tlv.emskCompoundMac.length !== COMPOUND_MAC_LENGTH || tlv.mskCompoundMac.length !== COMPOUND_MAC_LENGTH) {
    throw new TeapTlvError('Compound-MAC fields must be 20 octets');
  }
  if (tlv.flags > 15 || tlv.subType > 15 || tlv.flags < 0 || tlv.subType < 0) throw new TeapTlvError('Crypto-Binding Flags/Sub-Type are 4 bits');
  const out = new Uint8Array(CRYPTO_BINDING_LENGTH);
  out[0] = tlv.reserved;
  out[1] = tlv.version;
  out[2] = tlv.receivedVersion;
  out[3] = (tlv.flags << 4) | tlv.subType;
  out.set(tlv.nonce, 4);
  out.set(tlv.emskCompoundMac, 36);
  out.set(tlv.mskCompoundMac, 56);
  return out;
}
