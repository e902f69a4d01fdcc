/**
 * Constrained vouchers: COSE_Sign1 sign -> verify for each algorithm, the header rules of
 * ../shared/specs/constrained-voucher.md §3, and the CBOR key and value rules of §1-§2, each refusal
 * with its error code.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  CoseSign1, MAX_ARTIFACT_BYTES, SignedVoucherCose, Voucher, VoucherError, VoucherRequest, decodeVoucherArtifactCbor, decodeVoucherCbor,
  decodeVoucherRequestCbor, encodeVoucherCbor, isVoucherCoseMediaType, signCoseSign1, signVoucherCose,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { Tag, bstr, encodeCbor } from '../../../../src/teap-brski/brski/voucher/cbor.js';
import { type BrskiPki, makeBrskiPki, makeCert } from './test-pki.js';

let pki: BrskiPki;
beforeAll(async () => {
  pki = await makeBrskiPki('COSE-0007');
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VoucherError) return e.code;
    throw e;
  }
  return 'accepted';
}

function voucher(): Voucher {
  return new Voucher({
    assertion: 'logged',
    createdOn: '2026-05-01T08:00:00.000Z',
    domainCertRevocationChecks: false,
    nonce: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
    pinnedDomainCert: pki.domainCa.der,
    serialNumber: pki.serialNumber,
  });
}

/** A COSE_Sign1 assembled by hand, to make shapes our signer never writes. */
function coseOf(parts: { protectedMap?: Map<unknown, unknown> | Uint8Array; unprotected?: Map<unknown, unknown>; payload?: unknown; signature?: Uint8Array; tag?: number | null }): Uint8Array {
  const p = parts.protectedMap instanceof Uint8Array ? parts.protectedMap : encodeCbor(parts.protectedMap ?? new Map([[1, -7]]));
  const body = [bstr(p), parts.unprotected ?? new Map(), parts.payload === undefined ? bstr(encodeVoucherCbor(voucher())) : parts.payload, bstr(parts.signature ?? new Uint8Array(64))];
  return encodeCbor(parts.tag === null ? body : new Tag(body, parts.tag ?? 18));
}

describe('COSE_Sign1 vouchers', () => {
  it('signs with ES256, the MASA chain in an unprotected x5bag; verifies by finding the signer, then to the anchor', () => {
    const v = voucher();
    const bytes = signVoucherCose(v, { privateKey: pki.masa.key, certificates: [pki.masa.der, pki.manufacturerCa.der] });
    expect(hex(bytes).startsWith('d28443a10126a1182082')).toBe(true);
    const signed = SignedVoucherCose.decode(bytes);
    expect(signed.cose.algorithm).toBe('ES256');
    expect(signed.cose.signature.length).toBe(64);
    expect(signed.voucher()).toEqual(v);
    expect(signed.verify().signerCertificate).toEqual(pki.masa.der);
    expect(signed.verify({ trustAnchors: [pki.manufacturerCa.der] }).path).toEqual([pki.masa.der, pki.manufacturerCa.der]);
    expect(codeOf(() => signed.verify({ trustAnchors: [pki.domainCa.der] }))).toBe('signer-untrusted');
    expect(codeOf(() => signed.verify({ signer: pki.registrar.der }))).toBe('signature-invalid');
    expect(codeOf(() => signed.verify({ signer: pki.masa.key, trustAnchors: [pki.manufacturerCa.der] }))).toBe('signer-untrusted');
  });

  it('writes one certificate as a bare bstr and reads a one-element array (as the draft\'s voucher.hex has it)', () => {
    const one = SignedVoucherCose.decode(signVoucherCose(voucher(), { privateKey: pki.masa.key, certificates: [pki.masa.der] }));
    expect(one.cose.unprotectedHeader.get(32)).toBeInstanceOf(Uint8Array);
    const signed = SignedVoucherCose.decode(signVoucherCose(voucher(), { privateKey: pki.masa.key }));
    const arrayBag = coseOf({ protectedMap: signed.cose.protectedBytes, unprotected: new Map([[32, [bstr(pki.masa.der)]]]), payload: bstr(signed.cose.payload), signature: signed.cose.signature });
    expect(SignedVoucherCose.decode(arrayBag).verify().signerCertificate).toEqual(pki.masa.der);
  });

  it('verifies a voucher with no x5bag when the pledge holds the MASA certificate as anchor', () => {
    const signed = SignedVoucherCose.decode(signVoucherCose(voucher(), { privateKey: pki.masa.key }));
    expect(signed.cose.unprotectedHeader.size).toBe(0);
    expect(codeOf(() => signed.verify())).toBe('signature-invalid');
    expect(signed.verify({ trustAnchors: [pki.masa.der] }).path).toEqual([pki.masa.der]);
  });

  it('signs and verifies ES384 (P-384) and EdDSA (Ed25519); refuses RSA keys', async () => {
    const p384 = await makeCert({ subject: 'CN=P-384 MASA', keyKind: 'p384' });
    const es384 = SignedVoucherCose.decode(signVoucherCose(voucher(), { privateKey: p384.key }));
    expect(es384.cose.algorithm).toBe('ES384');
    expect(es384.cose.signature.length).toBe(96);
    expect(es384.verify({ signer: p384.der }).signerCertificate).toEqual(p384.der);
    const ed = generateKeyPairSync('ed25519');
    const eddsa = SignedVoucherCose.decode(signVoucherCose(voucher(), { privateKey: ed.privateKey }));
    expect(hex(eddsa.cose.protectedBytes)).toBe('a10127');
    expect(eddsa.verify({ signer: ed.publicKey })).toEqual({ certificates: [] });
    expect(codeOf(() => eddsa.verify({ signer: pki.masa.der }))).toBe('signature-invalid');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(codeOf(() => signVoucherCose(voucher(), { privateKey: rsa.privateKey }))).toBe('unsupported');
  });

  it('detects a changed payload octet and a changed signature octet', () => {
    const bytes = signVoucherCose(voucher(), { privateKey: pki.masa.key, certificates: [pki.masa.der] });
    const at = Buffer.from(bytes).indexOf(Buffer.from(pki.serialNumber));
    const payload = new Uint8Array(bytes);
    payload[at] = (payload[at] as number) ^ 0x20;
    expect(codeOf(() => SignedVoucherCose.decode(payload).verify({ signer: pki.masa.key }))).toBe('signature-invalid');
    const signature = new Uint8Array(bytes);
    signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 0x01;
    expect(codeOf(() => SignedVoucherCose.decode(signature).verify({ signer: pki.masa.key }))).toBe('signature-invalid');
  });

  it('a registrar strips the unprotected certificates and the signature stays valid; a kid is kept', () => {
    const bytes = signVoucherCose(voucher(), { privateKey: pki.masa.key, certificates: [pki.masa.der, pki.manufacturerCa.der], kid: new Uint8Array([9]) });
    const stripped = SignedVoucherCose.decode(SignedVoucherCose.decode(bytes).withoutUnprotectedCertificates());
    expect([...stripped.cose.unprotectedHeader.keys()]).toEqual([4]);
    expect(stripped.cose.certificates()).toEqual([]);
    expect(stripped.verify({ signer: pki.masa.key })).toBeDefined();
  });

  it('accepts an untagged COSE_Sign1 and keeps it untagged when stripping', () => {
    const signed = SignedVoucherCose.decode(signVoucherCose(voucher(), { privateKey: pki.masa.key }));
    const untagged = coseOf({ protectedMap: signed.cose.protectedBytes, payload: bstr(signed.cose.payload), signature: signed.cose.signature, tag: null });
    const decoded = SignedVoucherCose.decode(untagged);
    expect(decoded.cose.tagged).toBe(false);
    expect(decoded.verify({ signer: pki.masa.key })).toBeDefined();
    expect(decoded.withoutUnprotectedCertificates()[0]).toBe(0x84);
  });

  it.each<[string, () => Uint8Array, string]>([
    ['another tag (COSE_Sign, 98)', () => coseOf({ tag: 98 }), 'unsupported'],
    ['a three-element array', () => encodeCbor(new Tag([bstr(new Uint8Array([0xa1, 1, 0x26])), new Map(), bstr(new Uint8Array(1))], 18)), 'malformed'],
    ['a protected header that is a map, not a bstr', () => encodeCbor(new Tag([new Map([[1, -7]]), new Map(), bstr(new Uint8Array(1)), bstr(new Uint8Array(64))], 18)), 'malformed'],
    ['a protected header that is not a map', () => coseOf({ protectedMap: encodeCbor([1, -7]) }), 'malformed'],
    ['no alg', () => coseOf({ protectedMap: new Uint8Array(0) }), 'unsupported'],
    ['an unknown alg', () => coseOf({ protectedMap: new Map([[1, -257]]) }), 'unsupported'],
    ['alg in the unprotected header', () => coseOf({ unprotected: new Map([[1, -7]]) }), 'malformed'],
    ['a label in both headers', () => coseOf({ protectedMap: new Map<number, unknown>([[1, -7], [4, bstr(new Uint8Array(1))]]), unprotected: new Map([[4, bstr(new Uint8Array(1))]]) }), 'malformed'],
    ['a critical header', () => coseOf({ protectedMap: new Map<number, unknown>([[1, -7], [2, [99]], [99, 1]]) }), 'unsupported'],
    ['a detached payload', () => coseOf({ payload: null }), 'unsupported'],
    ['a text payload', () => coseOf({ payload: 'x' }), 'malformed'],
    ['an unprotected header label of type array', () => coseOf({ unprotected: new Map([[[1], 1]]) }), 'malformed'],
    ['not CBOR', () => new Uint8Array([0x1c]), 'malformed'],
    ['a byte after the item', () => new Uint8Array([...coseOf({}), 0]), 'malformed'],
    ['input over 64 KiB', () => new Uint8Array(MAX_ARTIFACT_BYTES + 1), 'too-large'],
  ])('refuses %s', (_what, make, code) => {
    expect(codeOf(() => CoseSign1.decode(make()))).toBe(code);
  });

  it('a good signature with an octet appended does not verify, and nothing throws', () => {
    const good = CoseSign1.decode(signVoucherCose(voucher(), { privateKey: pki.masa.key }));
    const longer = CoseSign1.decode(coseOf({ protectedMap: good.protectedBytes, payload: bstr(good.payload), signature: new Uint8Array([...good.signature, 0]) }));
    expect(good.verifyWithKey(pki.masa.der)).toBe(true);
    expect(longer.verifyWithKey(pki.masa.der)).toBe(false);
  });

  it('signCoseSign1 signs any payload; the media types are recognised', () => {
    const bytes = signCoseSign1(new Uint8Array([0xf6]), { privateKey: pki.masa.key });
    expect(CoseSign1.decode(bytes).verifyWithKey(pki.masa.der)).toBe(true);
    expect(isVoucherCoseMediaType('application/voucher+cose')).toBe(true);
    expect(isVoucherCoseMediaType('Application/Voucher-COSE+CBOR; charset=x')).toBe(true);
    expect(isVoucherCoseMediaType('application/voucher-cms+json')).toBe(false);
  });
});

describe('CBOR voucher codec', () => {
  const sn = 'CBOR-1';

  it('writes {2451: {delta: value}} with ascending keys and reads it back equal', () => {
    const v = new Voucher({ serialNumber: sn, assertion: 'agent-proximity', expiresOn: '2026-01-01T00:00:00Z', pinnedDomainPubkSha256: new Uint8Array(32).fill(3) });
    const bytes = encodeVoucherCbor(v);
    // {2451: {1: 3, 4: "2026-…", 10: h'03…', 11: "CBOR-1"}}
    expect(hex(bytes).startsWith('a1190993a4010304')).toBe(true);
    expect(decodeVoucherCbor(bytes)).toEqual(v);
    const vr = new VoucherRequest({ serialNumber: sn, proximityRegistrarPubkSha256: new Uint8Array(32).fill(1), agentSignedData: new Uint8Array([1]) });
    expect(hex(encodeVoucherCbor(vr)).startsWith('a11909c5a30b5820')).toBe(true);
    expect(decodeVoucherRequestCbor(encodeVoucherCbor(vr))).toEqual(vr);
  });

  it('reads names, absolute SIDs (tag 47) and deltas alike', () => {
    const named = encodeCbor(new Map([['ietf-voucher:voucher', new Map<unknown, unknown>([['serial-number', sn], ['assertion', 1]])]]));
    expect(decodeVoucherCbor(named).toContent()).toEqual({ serialNumber: sn, assertion: 'logged' });
    const absolute = encodeCbor(new Map([[new Tag(2451, 47), new Map<unknown, unknown>([[new Tag(2462, 47), sn], [7, bstr(new Uint8Array(8))]])]]));
    expect(decodeVoucherCbor(absolute).toContent()).toEqual({ serialNumber: sn, nonce: new Uint8Array(8) });
    const requestNamed = encodeCbor(new Map([['ietf-voucher-request:voucher', new Map([['serial-number', sn]])]]));
    expect(decodeVoucherArtifactCbor(requestNamed).kind).toBe('voucher-request');
  });

  it('ignores unknown keys and lists them', () => {
    const bytes = encodeCbor(new Map([[2451, new Map<unknown, unknown>([[11, sn], [40, 1], ['future-leaf', 2], [new Tag(9999, 47), 3]])]]));
    expect(decodeVoucherCbor(bytes).unknownMembers).toEqual(['sid-delta:40', 'future-leaf', '47(9999)']);
  });

  const voucherMap = (entries: [unknown, unknown][]): Uint8Array => encodeCbor(new Map([[2451, new Map([[11, sn], ...entries])]]));
  it.each<[string, () => Uint8Array, string]>([
    ['the same leaf under a delta and a name', () => voucherMap([['serial-number', sn]]), 'invalid-content'],
    ['a text assertion (legacy encoders)', () => voucherMap([[1, 'logged']]), 'invalid-content'],
    ['assertion 4', () => voucherMap([[1, 4]]), 'invalid-content'],
    ['an epoch date, tag 1 (legacy encoders)', () => voucherMap([[2, new Date(1_600_000_000_000)]]), 'invalid-content'],
    ['a base64 text nonce (legacy encoders)', () => voucherMap([[7, 'AAECAwQFBgc=']]), 'invalid-content'],
    ['a nonce as a tagged typed array', () => voucherMap([[7, new Tag(new Uint8Array(8), 64)]]), 'invalid-content'],
    ['a 4-octet nonce', () => voucherMap([[7, bstr(new Uint8Array(4))]]), 'invalid-content'],
    ['a text pinned-domain-cert', () => voucherMap([[8, 'MIIB']]), 'invalid-content'],
    ['a byte-string serial-number', () => encodeCbor(new Map([[2451, new Map([[11, bstr(new Uint8Array([0x41]))]])]])), 'invalid-content'],
    ['an integer boolean', () => voucherMap([[3, 0]]), 'invalid-content'],
    ['extension SIDs', () => voucherMap([[15, [2600]]]), 'invalid-content'],
    ['a negative key', () => voucherMap([[-1, 1]]), 'invalid-content'],
    ['two containers', () => encodeCbor(new Map([[2451, new Map([[11, sn]])], [2501, new Map([[13, sn]])]])), 'invalid-content'],
    ['a container that is not a map', () => encodeCbor(new Map([[2451, [sn]]])), 'invalid-content'],
    ['an unknown container SID', () => encodeCbor(new Map([[1001104, new Map([[11, sn]])]])), 'invalid-content'],
    ['a voucher-request', () => encodeCbor(new Map([[2501, new Map([[13, sn]])]])), 'invalid-content'],
    ['an array', () => encodeCbor([1]), 'invalid-content'],
    ['truncated CBOR', () => voucherMap([]).subarray(0, 5), 'malformed'],
    ['input over 64 KiB', () => new Uint8Array(MAX_ARTIFACT_BYTES + 1), 'too-large'],
  ])('refuses %s', (_what, make, code) => {
    expect(codeOf(() => decodeVoucherCbor(make()))).toBe(code);
  });
});
