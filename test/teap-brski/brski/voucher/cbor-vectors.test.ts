/**
 * The three cBRSKI vectors of ../shared/specs/constrained-voucher.md §4: every field decoded, every
 * signature verified with the digest's keys, and our encoder reproducing each payload byte for byte.
 */
import { createHash } from 'node:crypto';
import {
  SignedVoucherCose, VoucherError, checkServerAgainstPin, encodeVoucherCbor, idevidIssuerOf, validateCertificatePath,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { makeCert } from './test-pki.js';
import { cbrski } from './vectors.js';

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// The pledge voucher-request's proximity-registrar-pubk: the registrar's P-256 SubjectPublicKeyInfo.
const REGISTRAR_SPKI =
  '3059301306072a8648ce3d020106082a8648ce3d03010703420004' +
  '2030855be846910b3ecb15caf8572d3eb565bdc654a15efaf6edebaa8b9e1608c5c910c93a20868fc8504d370f1b26fa9759f67983bb78863eda9acbea5124f6';

describe('cBRSKI vectors', () => {
  it('have the sizes and hashes the digest lists', () => {
    expect([cbrski.pvr.length, cbrski.rvr.length, cbrski.voucher.length]).toEqual([201, 1604, 724]);
    expect(sha256(cbrski.pvr)).toMatch(/^b101efbd.*41ea04$/);
    expect(sha256(cbrski.rvr)).toMatch(/^768224da.*29f183$/);
    expect(sha256(cbrski.voucher)).toMatch(/^1bfbde12.*3c7728$/);
  });

  describe('pledge voucher-request (C.3)', () => {
    const signed = SignedVoucherCose.decode(cbrski.pvr);

    it('decodes: tagged COSE_Sign1, protected {1: -7}, empty unprotected header', () => {
      expect(signed.cose.tagged).toBe(true);
      expect(hex(signed.cose.protectedBytes)).toBe('a10126');
      expect(signed.cose.algorithm).toBe('ES256');
      expect(signed.cose.unprotectedHeader.size).toBe(0);
      expect(signed.cose.payload.length).toBe(0x7e);
      expect(signed.cose.signature.length).toBe(64);
      expect(hex(signed.cose.toBeSigned()).startsWith('846a5369676e61747572653143a1012640587e')).toBe(true);
      expect(signed.cose.toBeSigned().length).toBe(145);
    });

    it('reproduces every field: {2501: {1: 2, 7: nonce, 12: registrar SPKI, 13: serial}}', () => {
      const vr = signed.voucherRequest();
      expect(vr.toContent()).toEqual({
        assertion: 'proximity',
        nonce: new Uint8Array(Buffer.from('23bfbbc9c2bcf213', 'hex')),
        proximityRegistrarPubk: new Uint8Array(Buffer.from(REGISTRAR_SPKI, 'hex')),
        serialNumber: 'JADA123456789',
      });
      expect(vr.unknownMembers).toEqual([]);
    });

    it('verifies with the pledge key and with no other', () => {
      expect(signed.verify({ signer: cbrski.pledgeKey })).toEqual({ certificates: [] });
      expect(() => signed.verify({ signer: cbrski.registrarKey })).toThrow(VoucherError);
      expect(() => signed.verify()).toThrow(expect.objectContaining({ code: 'signature-invalid' }));
    });

    it('our encoder writes the same payload bytes', () => {
      expect(hex(encodeVoucherCbor(signed.voucherRequest()))).toBe(hex(signed.cose.payload));
    });
  });

  describe('registrar voucher-request (C.4)', () => {
    const signed = SignedVoucherCose.decode(cbrski.rvr);
    const [registrarCert, domainCa] = signed.cose.certificates() as [Uint8Array, Uint8Array];

    it('carries the registrar certificate (644 B) and the domain CA (583 B) in an unprotected x5bag', () => {
      expect(hex(signed.cose.protectedBytes)).toBe('a10126');
      expect([...signed.cose.unprotectedHeader.keys()]).toEqual([32]);
      expect(signed.cose.certificates().map((c) => c.length)).toEqual([644, 583]);
    });

    it('reproduces every field, the PVR verbatim as prior-signed-voucher-request', () => {
      const vr = signed.voucherRequest();
      expect(vr.assertion).toBe('proximity');
      expect(vr.createdOn).toBe('2022-12-06T20:04:15.754Z');
      expect(hex(vr.idevidIssuer)).toBe('041830168014cb8d98ca74c51b58dde7acef869a9443a8d666a6');
      expect(hex(vr.nonce)).toBe('23bfbbc9c2bcf213');
      expect(hex(vr.priorSignedVoucherRequest)).toBe(hex(cbrski.pvr));
      expect(vr.serialNumber).toBe('JADA123456789');
      expect(Object.keys(vr.toContent()).sort()).toEqual(
        ['assertion', 'createdOn', 'idevidIssuer', 'nonce', 'priorSignedVoucherRequest', 'serialNumber'],
      );
      // The nested PVR decodes and verifies too.
      const inner = SignedVoucherCose.decode(vr.priorSignedVoucherRequest as Uint8Array);
      expect(inner.verify({ signer: cbrski.pledgeKey })).toBeDefined();
    });

    it('verifies with the registrar key, and finds the signer in its own x5bag', () => {
      expect(signed.verify({ signer: cbrski.registrarKey })).toBeDefined();
      const found = signed.verify();
      expect(hex(found.signerCertificate)).toBe(hex(registrarCert));
      expect(() => signed.verify({ signer: cbrski.masaKey })).toThrow(expect.objectContaining({ code: 'signature-invalid' }));
    });

    it('its signer chains to the domain CA of the bag while both were valid (2023), not after the registrar cert expired', () => {
      const at = new Date('2023-06-01T00:00:00Z');
      const ok = signed.verify({ trustAnchors: [domainCa], at });
      expect(ok.path?.map((c) => c.length)).toEqual([644, 583]);
      expect(() => signed.verify({ trustAnchors: [domainCa], at: new Date('2026-01-01T00:00:00Z') })).toThrow(
        expect.objectContaining({ code: 'signer-untrusted' }),
      );
      expect(validateCertificatePath(registrarCert, [], [domainCa], { at: 'ignore-time' }).ok).toBe(true);
    });

    it('our encoder writes the same payload bytes', () => {
      expect(hex(encodeVoucherCbor(signed.voucherRequest()))).toBe(hex(signed.cose.payload));
    });

    it('withoutUnprotectedCertificates keeps the signature valid', () => {
      const stripped = SignedVoucherCose.decode(signed.withoutUnprotectedCertificates());
      expect(stripped.cose.unprotectedHeader.size).toBe(0);
      expect(stripped.cose.certificates()).toEqual([]);
      expect(stripped.verify({ signer: cbrski.registrarKey })).toBeDefined();
      expect(hex(stripped.raw).startsWith('d28443a10126a0590124a11909c5')).toBe(true);
    });
  });

  describe('voucher (C.5)', () => {
    const signed = SignedVoucherCose.decode(cbrski.voucher);

    it('reproduces every field: {2451: {1: 2, 2: created-on, 3: false, 7: nonce, 8: domain CA, 11: serial}}', () => {
      const v = signed.voucher();
      expect(v.assertion).toBe('proximity');
      expect(v.createdOn).toBe('2022-12-06T20:23:30.708Z');
      expect(v.domainCertRevocationChecks).toBe(false);
      expect(hex(v.nonce)).toBe('57eed786ad404907');
      expect(v.pinnedDomainCert?.length).toBe(583);
      expect(v.serialNumber).toBe('JADA123456789');
      expect(Object.keys(v.toContent()).sort()).toEqual(
        ['assertion', 'createdOn', 'domainCertRevocationChecks', 'nonce', 'pinnedDomainCert', 'serialNumber'],
      );
      // The pinned certificate is the RVR's domain CA.
      const rvrCerts = SignedVoucherCose.decode(cbrski.rvr).cose.certificates();
      expect(hex(v.pinnedDomainCert)).toBe(hex(rvrCerts[1]));
    });

    it('verifies with the MASA key only; the signature bytes are the digest\'s', () => {
      expect(hex(signed.cose.signature).startsWith('df31b21a')).toBe(true);
      expect(hex(signed.cose.signature).endsWith('b2e7c832')).toBe(true);
      expect(signed.verify({ signer: cbrski.masaKey })).toBeDefined();
      expect(() => signed.verify({ signer: cbrski.pledgeKey })).toThrow(expect.objectContaining({ code: 'signature-invalid' }));
    });

    it('our encoder writes the same payload bytes', () => {
      expect(hex(encodeVoucherCbor(signed.voucher()))).toBe(hex(signed.cose.payload));
    });

    it('its pinned domain CA validates the registrar certificate of the RVR (2023) and not a foreign certificate', async () => {
      const [registrarCert] = SignedVoucherCose.decode(cbrski.rvr).cose.certificates() as [Uint8Array];
      const at = new Date('2023-06-01T00:00:00Z');
      const result = checkServerAgainstPin(signed.voucher(), [registrarCert], { at });
      expect(result.pin.kind).toBe('cert');
      expect(result.path.map((c) => c.length)).toEqual([644, 583]);
      expect(result.revocationChecksRequired).toBe(false);
      const foreign = await makeCert({ subject: 'CN=Custom-ER Commercial Buildings Registrar', dnsName: 'registrar.example' });
      expect(() => checkServerAgainstPin(signed.voucher(), [foreign.der, registrarCert], { at: 'ignore-time' })).toThrow(
        expect.objectContaining({ code: 'pin-mismatch', teapError: 'Invalid-TLS-Signer' }),
      );
      // After the registrar certificate expired (2025-12-05) a pledge with a clock refuses it.
      expect(() => checkServerAgainstPin(signed.voucher(), [registrarCert], { at: new Date('2026-01-01T00:00:00Z') })).toThrow(
        expect.objectContaining({ code: 'pin-mismatch' }),
      );
    });

    it('idevid-issuer of the RVR is the form idevidIssuerOf writes (AKI extnValue with its OCTET STRING header)', () => {
      const [registrarCert] = SignedVoucherCose.decode(cbrski.rvr).cose.certificates() as [Uint8Array];
      // The registrar certificate's own AKI (keyId 92ea7640…) shows the shape; the pledge's is not in the vectors.
      expect(hex(idevidIssuerOf(registrarCert))).toBe('041830168014' + '92ea7640404a8fab4f270bf3bc379d86cd7280f8');
    });
  });
});
