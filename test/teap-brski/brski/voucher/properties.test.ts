/**
 * Properties: every valid artefact survives JSON and CBOR round trips and COSE/CMS signing; every
 * mutation of valid bytes, and any random input, ends in a value or a VoucherError, never another
 * exception; oversize input is refused before decoding.
 */
import fc from 'fast-check';
import {
  type AnyVoucherArtifact, CoseSign1, MAX_ARTIFACT_BYTES, SignedCms, SignedVoucherCms, SignedVoucherCose, Voucher, VoucherError,
  VoucherRequest, decodeVoucherArtifactCbor, encodeVoucherCbor, parseVoucherArtifactJson, serializeVoucherJson, signVoucherCms,
  signVoucherCose,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import type { VoucherRequestContent } from '../../../../src/teap-brski/brski/voucher/artifact.js';
import { type BrskiPki, makeBrskiPki } from './test-pki.js';
import { cbrski, rfc8995 } from './vectors.js';

let pki: BrskiPki;
beforeAll(async () => {
  pki = await makeBrskiPki('PROP-1');
});

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** yang:date-and-time values: UTC or an offset, with or without fractions. */
const dateAndTime = fc
  .record({
    ms: fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31) }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
    offset: fc.option(fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) }), { nil: undefined }),
  })
  .map(({ ms, fraction, offset }) => {
    const d = new Date(ms);
    const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    const zone = offset ? `${offset.sign}${pad(offset.h)}:${pad(offset.m)}` : 'Z';
    return `${base}${fraction ? `.${fraction}` : ''}${zone}`;
  });

const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });
const uri = fc.constantFrom('https://registrar.example/.well-known/est', 'coaps://[2001:db8::1]:5684/est', 'urn:example:config');

function contentArb(kind: 'voucher' | 'voucher-request', certs: () => Uint8Array[], spkis: () => Uint8Array[]): fc.Arbitrary<VoucherRequestContent> {
  const cert = fc.integer({ min: 0, max: 2 }).map((i) => certs()[i] as Uint8Array);
  const spki = fc.integer({ min: 0, max: 2 }).map((i) => spkis()[i] as Uint8Array);
  const common = {
    assertion: fc.constantFrom('verified', 'logged', 'proximity', 'agent-proximity' as const),
    createdOn: dateAndTime,
    domainCertRevocationChecks: fc.boolean(),
    idevidIssuer: bytes(1, 40),
    nonce: bytes(8, 32),
    pinnedDomainCert: cert,
    pinnedDomainPubk: spki,
    pinnedDomainPubkSha256: bytes(32, 32),
    serialNumber: fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
    additionalConfigurationUrl: uri,
    estDomain: uri,
    manufacturerProprietary: bytes(1, 64),
    extensions: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 3 }),
  };
  const requestOnly = {
    priorSignedVoucherRequest: bytes(1, 300),
    proximityRegistrarCert: cert,
    proximityRegistrarPubkSha256: bytes(32, 32),
    proximityRegistrarPubk: spki,
    agentProvidedProximityRegistrarCert: cert,
    agentSignCert: cert,
    agentSignedData: bytes(1, 64),
  };
  const leaves = kind === 'voucher' ? common : { ...common, ...requestOnly };
  return fc
    .record({ ...leaves, expiresOn: dateAndTime, lastRenewalDate: dateAndTime } as { [k: string]: fc.Arbitrary<unknown> }, {
      requiredKeys: ['serialNumber'],
    })
    .map((c) => {
      // YANG: last-renewal-date only together with expires-on.
      if (c.lastRenewalDate !== undefined && c.expiresOn === undefined) delete c.lastRenewalDate;
      return c as unknown as VoucherRequestContent;
    });
}

function artifactArb(): fc.Arbitrary<AnyVoucherArtifact> {
  const certs = (): Uint8Array[] => [pki.domainCa.der, pki.registrar.der, pki.masa.der];
  const spkis = (): Uint8Array[] => [pki.domainCa, pki.registrar, pki.masa].map((c) => new Uint8Array(c.cert.publicKey.rawData));
  return fc.oneof(
    contentArb('voucher', certs, spkis).map((c) => new Voucher(c) as AnyVoucherArtifact),
    contentArb('voucher-request', certs, spkis).map((c) => new VoucherRequest(c) as AnyVoucherArtifact),
  );
}

/** With the nonce spelled in base64url (no padding) as RFC 8995's examples do, when there is one. */
function withUrlNonce(a: AnyVoucherArtifact): AnyVoucherArtifact {
  if (!a.nonce) return a;
  const meta = { base64Spelling: { nonce: Buffer.from(a.nonce).toString('base64url') } };
  return a.kind === 'voucher' ? new Voucher(a.toContent(), meta) : new VoucherRequest(a.toContent(), meta);
}

/** Byte-level damage: flips, truncation, insertion, deletion, overwrite with junk. */
function mutated(valid: () => Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .array(
      fc.record({ op: fc.constantFrom('flip', 'truncate', 'insert', 'delete', 'set'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 1, max: 8 }) }),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let b = Array.from(valid());
      for (const { op, at, value, len } of ops) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (op === 'flip') b[i] = (b[i] ?? 0) ^ (1 << (value % 8));
        else if (op === 'truncate') b = b.slice(0, i);
        else if (op === 'insert') b.splice(i, 0, ...Array<number>(len).fill(value));
        else if (op === 'delete') b.splice(i, len);
        else b[i] = value;
      }
      return new Uint8Array(b);
    });
}

/**
 * The artefact with binaries as hex: the same equality as comparing the objects, but jest compares
 * strings far faster than typed arrays of a few hundred octets.
 */
function canon(a: AnyVoucherArtifact): unknown {
  const content = Object.entries(a.toContent()).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]);
  return { kind: a.kind, content, unknownMembers: a.unknownMembers, base64Spelling: a.base64Spelling };
}

function onlyVoucherErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof VoucherError)) throw new Error(`non-VoucherError escaped: ${String(e)}`);
  }
}

async function onlyVoucherErrorsAsync(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof VoucherError)) throw new Error(`non-VoucherError escaped: ${String(e)}`);
  }
}

describe('round trips', () => {
  it('JSON: parse(serialize(v)) equals v, also with base64url nonce spelling', () => {
    fc.assert(
      fc.property(artifactArb(), fc.boolean(), (a, urlNonce) => {
        const v = urlNonce ? withUrlNonce(a) : a;
        expect(canon(parseVoucherArtifactJson(serializeVoucherJson(v)))).toEqual(canon(v));
      }),
      { numRuns: 300 },
    );
  });

  it('CBOR: decode(encode(v)) equals v', () => {
    fc.assert(
      fc.property(artifactArb(), (v) => {
        expect(canon(decodeVoucherArtifactCbor(encodeVoucherCbor(v)))).toEqual(canon(v));
      }),
      { numRuns: 300 },
    );
  });

  it('COSE: sign then verify gives back the artefact', () => {
    fc.assert(
      fc.property(artifactArb(), (v) => {
        const signed = SignedVoucherCose.decode(signVoucherCose(v, { privateKey: pki.masa.key, certificates: [pki.masa.der] }));
        expect(signed.verify({ trustAnchors: [pki.manufacturerCa.der] }).signerCertificate).toEqual(pki.masa.der);
        expect(canon(signed.artifact())).toEqual(canon(v));
      }),
      { numRuns: 60 },
    );
  });

  it('CMS: sign then verify gives back the artefact', async () => {
    await fc.assert(
      fc.asyncProperty(artifactArb(), async (v) => {
        const signed = SignedVoucherCms.decode(await signVoucherCms(v, { certificate: pki.masa.der, privateKey: pki.masa.key }));
        expect((await signed.verify({ trustAnchors: [pki.manufacturerCa.der] })).signerCertificate).toEqual(pki.masa.der);
        expect(canon(signed.artifact())).toEqual(canon(v));
      }),
      { numRuns: 40 },
    );
  });
});

describe('junk never crashes a parser', () => {
  it('mutated JSON artefacts: a value or a VoucherError', () => {
    const content = SignedVoucherCms.decode(rfc8995.parboiledVr).cms.content;
    const valid = (): Uint8Array => content;
    fc.assert(fc.property(mutated(valid), (b) => onlyVoucherErrors(() => parseVoucherArtifactJson(b))), { numRuns: 1000 });
  });

  it('mutated CBOR payloads and COSE_Sign1 (the cBRSKI vectors): a value or a VoucherError, verify included', () => {
    const rvrPayload = SignedVoucherCose.decode(cbrski.rvr).cose.payload;
    const payload = (): Uint8Array => rvrPayload;
    fc.assert(fc.property(mutated(payload), (b) => onlyVoucherErrors(() => decodeVoucherArtifactCbor(b))), { numRuns: 1000 });
    for (const vector of [cbrski.pvr, cbrski.rvr, cbrski.voucher]) {
      fc.assert(
        fc.property(mutated(() => vector), (b) =>
          onlyVoucherErrors(() => {
            const s = SignedVoucherCose.decode(b);
            s.artifact();
            s.verify({ trustAnchors: [pki.manufacturerCa.der], at: 'ignore-time' });
          }),
        ),
        { numRuns: 400 },
      );
    }
  });

  it('mutated CMS (RFC 8995 artefacts): a value or a VoucherError, verify included', async () => {
    for (const vector of [rfc8995.vr, rfc8995.voucher]) {
      await fc.assert(
        fc.asyncProperty(mutated(() => vector), (b) =>
          onlyVoucherErrorsAsync(async () => {
            const s = SignedVoucherCms.decode(b);
            s.artifact();
            await s.verify({ trustAnchors: [pki.manufacturerCa.der], at: 'ignore-time' });
          }),
        ),
        { numRuns: 150 },
      );
    }
  });

  it('random bytes: a VoucherError from every decoder', () => {
    fc.assert(
      fc.property(bytes(0, 300), (b) => {
        onlyVoucherErrors(() => parseVoucherArtifactJson(b));
        onlyVoucherErrors(() => decodeVoucherArtifactCbor(b));
        onlyVoucherErrors(() => CoseSign1.decode(b));
        onlyVoucherErrors(() => SignedCms.decode(b));
      }),
      { numRuns: 1000 },
    );
  });

  it('input over the limit is refused as too-large by every decoder, whatever it holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_ARTIFACT_BYTES + 1, max: 4 * MAX_ARTIFACT_BYTES }), fc.integer({ min: 0, max: 255 }), (n, fill) => {
        const b = new Uint8Array(n).fill(fill);
        for (const decode of [parseVoucherArtifactJson, decodeVoucherArtifactCbor, (x: Uint8Array) => CoseSign1.decode(x), (x: Uint8Array) => SignedCms.decode(x)]) {
          expect(() => decode(b)).toThrow(expect.objectContaining({ code: 'too-large' }));
        }
      }),
      { numRuns: 20 },
    );
  });
});
