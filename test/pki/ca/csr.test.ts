import 'reflect-metadata';
import { inspectCsr } from '../../../src/pki/ca/csr.js';
import { CaError } from '../../../src/pki/ca/errors.js';
import { DEFAULT_KEY_POLICY } from '../../../src/pki/ca/key-policy.js';
import { makeCsr } from './helpers.js';

const OPTIONS = { maxOctets: 8192, keyPolicy: DEFAULT_KEY_POLICY };

/**
 * The signature covers only CertificationRequestInfo. These edits touch the unsigned envelope
 * around it, and each was accepted by a lenient parse (@peculiar/x509 alone) before the
 * canonical-DER and OpenSSL checks: regressions for them.
 */
describe('inspectCsr: the unsigned envelope must be canonical DER', () => {
  test('every envelope edit is Bad CSR; the untouched request passes', async () => {
    const der = (await makeCsr()).der;
    expect(inspectCsr(der, OPTIONS).key).toEqual({ type: 'ec', curve: 'P-256' });

    // Offsets of a P-256 request without attributes: 30 81 LL | 30 LL <info> | 30 0a <alg> | 03 LL 00 30 LL 02 ..
    expect([der[0], der[1]]).toEqual([0x30, 0x81]);
    const info = 3;
    const alg = info + 2 + der[info + 1]!;
    const bits = alg + 2 + der[alg + 1]!;
    expect([der[alg], der[bits]]).toEqual([0x30, 0x03]);
    const edits: Array<[string, number, number]> = [
      ['outer length two short', 2, der[2]! - 2],
      ['algorithm SEQUENCE retagged [16]', alg, 0xb0],
      ['algorithm length two short', alg + 1, der[alg + 1]! - 2],
      ['BIT STRING with 1 unused bit', bits + 2, 0x01],
      ['ECDSA-Sig-Value retagged [16]', bits + 3, 0xb0],
      ['ECDSA-Sig-Value length one short', bits + 4, der[bits + 4]! - 1],
    ];
    for (const [what, at, value] of edits) {
      const m = Uint8Array.from(der);
      m[at] = value;
      let err: unknown;
      try {
        inspectCsr(m, OPTIONS);
      } catch (e) {
        err = e;
      }
      expect({ what, err }).toEqual({ what, err: expect.any(CaError) as unknown });
      expect((err as CaError).code).toBe('bad-csr');
    }
  });

  test('trailing octets after the request are refused', async () => {
    const der = (await makeCsr()).der;
    expect(() => inspectCsr(Uint8Array.from([...der, 0x00]), OPTIONS)).toThrow(/not a PKCS#10/);
  });
});
