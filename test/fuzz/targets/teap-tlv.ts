import { isDeepStrictEqual } from 'node:util';
import { BrskiTlvCodec } from '../../../src/teap-brski/brski/tlvs.js';
import { TeapTlvError } from '../../../src/teap-brski/teap/errors.js';
import { validatePhase2Message } from '../../../src/teap-brski/teap/phase2-message.js';
import { decodeTeapTlvs, encodeTeapTlvs, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { invariant, type FuzzTarget } from '../engine/target.js';
import { tolerate } from './tolerate.js';

const expected = (err: unknown): boolean => err instanceof TeapTlvError;
const brski = new BrskiTlvCodec();

/**
 * TEAP TLV decoding (RFC 9930 §4.2): the TLV codec with every value decoder and nesting, the
 * Phase-2 message rules (§4.3) under each combination of what the server has outstanding, and the
 * TEAP-BRSKI TLVs. Only `TeapTlvError` (Error 2002) may come out. Invariant: whatever decodes
 * encodes again, and that encoding decodes to the same TLVs.
 */
export const teapTlv: FuzzTarget = {
  name: 'teap-tlv',
  description: 'TEAP TLV codec (all TLV types, nesting), Phase-2 message rules, TEAP-BRSKI TLVs',
  maxLength: 4096,
  expected,
  hints: {
    tlv: [{ offset: 0, typeOctets: 2, lengthOctets: 2, lengthIncludesHeader: false }],
    dictionary: [0x8003, 0x8004, 0x8005, 0x8008, 0x8009, 0x800a, 0x800c, 0x800d, 0x800e, 0x0010, 0x0012, 0x0013, 0x3ffc, 0x3ffd, 0x3ffe, 0x3fff, 0x4000].map((t) => Uint8Array.of(t >> 8, t & 0xff)),
  },
  async setup() {
    return (data) => {
      const tlvs = decodeTeapTlvs(data);
      let again: TeapTlv[];
      try {
        again = decodeTeapTlvs(encodeTeapTlvs(tlvs));
      } catch (err) {
        throw new Error(`decoded TLVs do not re-encode: ${(err as Error).message}`);
      }
      invariant(isDeepStrictEqual(again, tlvs), 'TLVs change when encoded and decoded again');
      for (let bits = 0; bits < 8; bits++) {
        tolerate(expected, () => validatePhase2Message(tlvs, { cryptoBinding: (bits & 1) !== 0, resultSuccess: (bits & 2) !== 0, intermediateResult: (bits & 4) !== 0 }));
      }
      tolerate(expected, () => brski.readAll(tlvs.flatMap((t) => ('tlvs' in t ? [t, ...t.tlvs] : [t]))));
    };
  },
};

teapTlv.makeSeeds = async () => {
  const { hex } = await import('./fixtures.js');
  // The Phase-2 plaintexts of ../shared/specs/teap-vectors.md, as transcribed for the TEAP tests.
  const { vectors } = await import('../../teap-brski/teap/vectors.js');
  const seeds = Object.entries(vectors).flatMap(([name, v]) =>
    v.phase2.map(([dir, h], i) => ({ name: `${name}-${i + 1}-${dir === 'S' ? 'server' : 'peer'}`, data: hex(h), comment: `../shared/specs/teap-vectors.md ${name} Phase-2 message ${i + 1} (${dir === 'S' ? 'server' : 'peer'})` })),
  );
  const { tlv } = await import('../../../src/teap-brski/teap/tlv-codec.js');
  seeds.push({
    name: 'ours-brski-start-and-nesting',
    data: encodeTeapTlvs([
      brski.startBrski(),
      { kind: 'nak', mandatory: true, vendorId: 0, nakType: 9, tlvs: [tlv.result(1)] },
      { kind: 'intermediate-result', mandatory: true, status: 1, tlvs: [tlv.error(2002)] },
      brski.retryAfter(60),
      brski.nai('pledge@example.com'),
      { kind: 'vendor-specific', mandatory: false, vendorId: 311, data: Uint8Array.of(0, 1, 0, 2, 0xab, 0xcd) },
      tlv.identityHint(new Uint8Array(Buffer.from('host/m1'))),
    ]),
    comment: 'encodeTeapTlvs: the registrar\'s Request-Action (nested BRSKI TLVs), a NAK and an Intermediate-Result with nested TLVs, Retry-After, NAI, Vendor-Specific, Identity-Hint',
  });
  return seeds;
};
