import { createHash, createHmac } from 'node:crypto';
import { radiusVectors as vectors } from '../../helpers/radius-vectors.js';
import {
  EAP_TLS_12_LABEL, EAP_TLS_13_CONTEXT, EAP_TLS_13_KEY_LABEL, EAP_TLS_13_METHOD_ID_LABEL, eapTls12Keys, eapTls13Keys,
} from '../../../src/eap-methods/eap-tls/keys.js';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** RFC 5246 §5 P_hash, written here independently of any production code. */
function prf12(hash: string, secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  let total = 0;
  while (total < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(Buffer.concat([a, labelSeed])).digest();
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RFC 8446 §7.5 exporter from the exporter master secret. */
function exporter13(hash: string, ems: Buffer, label: string, context: Buffer, length: number): Buffer {
  const expandOnly = (secret: Buffer, l: string, ctx: Buffer, len: number): Buffer => {
    const full = Buffer.from(`tls13 ${l}`, 'ascii');
    const info = Buffer.concat([Buffer.from([len >> 8, len & 0xff, full.length]), full, Buffer.from([ctx.length]), ctx]);
    const blocks: Buffer[] = [];
    let prev = Buffer.alloc(0);
    for (let i = 1; Buffer.concat(blocks).length < len; i++) {
      prev = createHmac(hash, secret).update(Buffer.concat([prev, info, Buffer.from([i])])).digest();
      blocks.push(prev);
    }
    return Buffer.concat(blocks).subarray(0, len);
  };
  const hashLen = createHash(hash).digest().length;
  const derived = expandOnly(ems, label, createHash(hash).digest(), hashLen);
  return expandOnly(derived, 'exporter', createHash(hash).update(context).digest(), length);
}

describe('EAP-TLS key derivation (RFC 5216 §2.3, RFC 9190 §2.3)', () => {
  test('TLS 1.2 vector: PRF over the master secret, MSK/EMSK split and Session-Id', () => {
    const v = vectors.eap_tls_1_2_key_material;
    const km = prf12(v.prf_hash, hex(v.master_secret), EAP_TLS_12_LABEL, Buffer.concat([hex(v.client_random), hex(v.server_random)]), 128);
    expect(km.toString('hex')).toBe(v.key_material_128);
    const keys = eapTls12Keys(km, hex(v.client_random), hex(v.server_random));
    expect(toHex(keys.msk)).toBe(v.msk);
    expect(toHex(keys.emsk)).toBe(v.emsk);
    expect(toHex(keys.sessionId)).toBe(v.session_id);
    expect(toHex(keys.msk.subarray(0, 32))).toBe(v.ms_mppe_recv_key);
    expect(toHex(keys.msk.subarray(32, 64))).toBe(v.ms_mppe_send_key);
  });

  test('TLS 1.3 vector: exporter labels and context 0x0D, Method-Id based Session-Id', () => {
    const v = vectors.eap_tls_1_3_key_material;
    expect(EAP_TLS_13_KEY_LABEL).toBe(v.key_material_label);
    expect(EAP_TLS_13_METHOD_ID_LABEL).toBe(v.method_id_label);
    expect(toHex(EAP_TLS_13_CONTEXT)).toBe(v.context);
    const ems = hex(v.exporter_master_secret);
    const km = exporter13(v.hash, ems, v.key_material_label, hex(v.context), 128);
    expect(km.toString('hex')).toBe(v.key_material_128);
    const methodId = exporter13(v.hash, ems, v.method_id_label, hex(v.context), 64);
    expect(methodId.toString('hex')).toBe(v.method_id_64);
    // The exporter output depends on the length requested: 64 octets are not the first half of 128.
    expect(exporter13(v.hash, ems, v.key_material_label, hex(v.context), 64).toString('hex')).toBe(v.export_64_octets_same_label_for_comparison);
    const keys = eapTls13Keys(km, methodId);
    expect(toHex(keys.msk)).toBe(v.msk);
    expect(toHex(keys.emsk)).toBe(v.emsk);
    expect(toHex(keys.sessionId)).toBe(v.session_id);
  });
});
