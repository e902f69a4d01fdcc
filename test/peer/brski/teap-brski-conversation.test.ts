import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import { createTeapPledge, type TeapPledgeConfig } from '../../../src/peer/brski/teap-pledge.js';
import type { BrskiPledge } from '../../../src/peer/brski/pledge.js';
import { BrskiTlvCodec, DEFAULT_BRSKI_ERROR_CODES } from '../../../src/teap-brski/brski/tlvs.js';
import { SignedVoucherCms, type VoucherContent } from '../../../src/teap-brski/brski/voucher/index.js';
import { toDateAndTime } from '../../../src/teap-brski/brski/voucher/yang-types.js';
import { TeapErrorCode } from '../../../src/teap-brski/teap/errors.js';
import { ResultStatus, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import type { PeerTunnelFacts } from '../../../src/peer/teap/tlv-handler.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { converse, methodContext, type Conversation } from '../../teap-brski/helpers.js';
import { makeCert } from '../../teap-brski/brski/voucher/test-pki.js';
import { attr, brskiWorld, csrAttrs, flipLastByte, rogueSigner, signedVoucher, type BrskiWorld, type WorldOptions } from './brski-world.js';

/**
 * Our pledge against our TEAP server running the real registrar TLV method, in memory (EAP packets
 * through converse(), fragmented at 1020 octets as a NAS with a small MTU would).
 */
const codec = new BrskiTlvCodec();

interface Run {
  world: BrskiWorld;
  pledge: BrskiPledge;
  c: Conversation;
  /** Every Phase-2 message the pledge sent, decoded. */
  sent: TeapTlv[][];
  facts: PeerTunnelFacts | undefined;
}

async function run(o: WorldOptions & { prepare?: (w: BrskiWorld) => void; pledge?: Partial<TeapPledgeConfig> } = {}): Promise<Run> {
  const world = await brskiWorld(o);
  o.prepare?.(world);
  const sent: TeapTlv[][] = [];
  const incoming = o.pledge?.phase2Interceptor?.incoming;
  const { peer, pledge } = createTeapPledge({
    credentials: world.credentials,
    maxVersion: o.maxVersion ?? 'TLSv1.2',
    log: new MemoryLog(),
    ...o.pledge,
    phase2Interceptor: {
      ...(incoming ? { incoming } : {}),
      outgoing: (tlvs) => {
        sent.push(tlvs);
        return tlvs;
      },
    },
  });
  const c = await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid'));
  return { world, pledge, c, sent, facts: pledge.tunnel };
}

const sentKinds = (r: Run): string[] => r.sent.flat().map((t) => codec.read(t)?.kind ?? t.kind);

function expectRefusal(r: Run, code: number): void {
  // The pledge ended Phase 2: Error(code) + Result=Failure, and never sent its CSR.
  const last = r.sent[r.sent.length - 1]!;
  expect(last).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'error', code }), expect.objectContaining({ kind: 'result', status: ResultStatus.Failure })]));
  expect(sentKinds(r)).not.toContain('pkcs10');
  expect(r.pledge.state).toBe('failed');
  expect(r.pledge.failure?.code).toBe(code);
  expect(r.pledge.enrollment).toBeUndefined();
  // The server saw the failure and ended in EAP-Failure; the CA issued nothing.
  expect(r.c.server.kind).toBe('failure');
  if (r.c.server.kind === 'failure') expect(r.c.server.reason).toMatch(/peer sent Result=Failure/);
  expect(r.c.peer.kind).toBe('failure');
  expect(r.world.ca.issued).toHaveLength(0);
}

describe('TEAP-BRSKI pledge against the registrar (in memory)', () => {
  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: voucher accepted, PKCS#10 sent, LDevID for a new key, EAP-Success with matching keys', async (maxVersion) => {
    const r = await run({ maxVersion });
    expect(r.c.server.kind).toBe('success');
    expect(r.c.peer.kind).toBe('success');
    if (r.c.server.kind !== 'success' || r.c.peer.kind !== 'success') return;
    expect(Buffer.from(r.c.peer.msk).equals(Buffer.from(r.c.server.msk))).toBe(true);
    expect(r.c.server.grant.identity).toBe('acme:JADA-0001');
    expect(r.c.server.grant).toMatchObject({ deviceId: 'acme:JADA-0001', manufacturer: 'acme' });
    expect(sentKinds(r)).toEqual(['voucher-request', 'identity-type', 'trusted-server-root', 'pkcs10', 'intermediate-result', 'result', 'crypto-binding']);

    const e = r.pledge.enrollment!;
    expect(r.pledge.state).toBe('enrolled');
    const ldevid = new X509Certificate(e.ldevid);
    expect(ldevid.subject).toBe('CN=acme:JADA-0001');
    expect(ldevid.verify(new X509Certificate(r.world.pki.domainCa.der).publicKey)).toBe(true);
    expect(ldevid.checkPrivateKey(e.privateKey)).toBe(true);
    // Never the IDevID key.
    expect(ldevid.publicKey.export({ type: 'spki', format: 'der' }).equals(new X509Certificate(r.world.pki.idevid.der).publicKey.export({ type: 'spki', format: 'der' }))).toBe(false);
    // Trust anchor: the Trusted-Server-Root's domain CA.
    expect(e.trustAnchors.map((a) => Buffer.from(a).toString('hex'))).toEqual([Buffer.from(r.world.pki.domainCa.der).toString('hex')]);
    expect(e.voucher).toMatchObject({ serialNumber: 'JADA-0001', assertion: 'logged', pin: 'cert' });

    // CSR-Attributes asked for P-256 and challengePassword: the CSR carried the channel binding.
    const issued = r.world.ca.issued[0]!;
    expect(JSON.parse(issued.csrKeyAlgorithm)).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(r.facts?.channelBinding?.type).toBe(maxVersion === 'TLSv1.2' ? 'tls-unique' : 'tls-exporter');
    expect(issued.challengePassword).toBe(Buffer.from(r.facts!.channelBinding!.data).toString('base64'));
    expect(r.facts!.channelBinding!.data.length).toBe(maxVersion === 'TLSv1.2' ? 12 : 32);

    // The PVR named the server certificate of this session and was signed with the IDevID.
    const pvrTlv = r.sent.flat().map((t) => codec.read(t)).find((b) => b?.kind === 'voucher-request');
    const pvr = SignedVoucherCms.decode(pvrTlv!.kind === 'voucher-request' ? pvrTlv!.der : new Uint8Array(0));
    expect(Buffer.from((await pvr.verify({ trustAnchors: [r.world.pki.manufacturerCa.der] })).signerCertificate!).equals(Buffer.from(r.world.pki.idevid.der))).toBe(true);
    expect(Buffer.from(pvr.voucherRequest().proximityRegistrarCert!).equals(Buffer.from(r.world.pki.registrar.der))).toBe(true);
  });

  test('a voucher pinning the domain CA (not the EE certificate): the server chain is validated through it', async () => {
    const r = await run({ prepare: (w) => void (w.masa.pin = w.pki.domainCa.der) });
    expect(r.c.server.kind).toBe('success');
    expect(r.pledge.enrollment?.voucher.pin).toBe('cert');
  });

  test('CSR-Attributes asking for EC P-384 without challengePassword: a P-384 key, no challengePassword', async () => {
    const p384 = csrAttrs(attr('1.2.840.10045.2.1', new asn1js.ObjectIdentifier({ value: '1.3.132.0.34' })));
    const r = await run({ prepare: (w) => void (w.ca.csrAttributesDer = p384) });
    expect(r.c.server.kind).toBe('success');
    const issued = r.world.ca.issued[0]!;
    expect(JSON.parse(issued.csrKeyAlgorithm)).toMatchObject({ name: 'ECDSA', namedCurve: 'P-384' });
    expect(issued.challengePassword).toBeUndefined();
  });

  test('CSR-Attributes the pledge cannot honour (RSA of 1024 bits): Error(CSR-Attribute-Fail) + Result=Failure, no CSR', async () => {
    const rsa1024 = csrAttrs(attr('1.2.840.113549.1.1.1', new asn1js.Integer({ value: 1024 })));
    const r = await run({ prepare: (w) => void (w.ca.csrAttributesDer = rsa1024) });
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.csrAttributeFail);
    expect(r.pledge.failure?.reason).toMatch(/RSA key of 1024 bits/);
  });

  test('tampered voucher (one bit of the signature flipped): Error(Invalid-Signature) + Result=Failure, no CSR', async () => {
    const r = await run({ prepare: (w) => void (w.masa.tamper = flipLastByte) });
    expect(r.world.masa.calls).toBe(1);
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidSignature);
  });

  test('voucher signed by a MASA that does not chain to the manufacturer anchor: Invalid-Signature', async () => {
    const rogue = await rogueSigner();
    const r = await run({ prepare: (w) => void (w.masa.signer = rogue) });
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidSignature);
  });

  test('voucher whose pin does not validate the server certificate: Error(Invalid-TLS-Signer), no CSR', async () => {
    const otherDomain = await makeCert({ subject: 'CN=Some Other Domain CA', ca: true });
    const r = await run({ prepare: (w) => void (w.masa.pin = otherDomain.der) });
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidTlsSigner);
  });

  test('voucher requiring revocation checks the pledge cannot make: Invalid-TLS-Signer', async () => {
    const r = await run({ prepare: (w) => void (w.masa.alter = (c) => ({ ...c, domainCertRevocationChecks: true })) });
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidTlsSigner);
  });

  // The registrar checks serial-number and nonce itself before forwarding (registrar.ts
  // checkVoucher), so these vouchers are swapped in on the way to the pledge: a registrar that
  // forwarded them (or an attacker in its place) meets the pledge's own checks.
  async function swapVoucher(make: (w: BrskiWorld, original: VoucherContent) => VoucherContent): Promise<Run> {
    let replacement: Uint8Array | undefined;
    let world: BrskiWorld | undefined;
    const r = await run({
      prepare: (w) => {
        world = w;
        const masa = w.masa;
        const real = masa.requestVoucher.bind(masa);
        masa.requestVoucher = async (url, rvr) => {
          const out = await real(url, rvr);
          if (out.kind === 'voucher') {
            const v = SignedVoucherCms.decode(out.der).voucher();
            replacement = await signedVoucher(w.pki, make(w, v.toContent()));
          }
          return out;
        };
      },
      pledge: {
        phase2Interceptor: {
          incoming: (tlvs) => tlvs.map((t) => (codec.read(t)?.kind === 'voucher' && replacement ? codec.voucher(replacement) : t)),
        },
      },
    });
    expect(world).toBeDefined();
    expect(replacement).toBeDefined();
    return r;
  }

  test('voucher for another serial-number: Error(Invalid-Voucher), no CSR', async () => {
    const r = await swapVoucher((_w, v) => ({ ...v, serialNumber: 'JADA-0002' }));
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidVoucher);
    expect(r.pledge.failure?.reason).toMatch(/serial-number "JADA-0002"/);
  });

  test('voucher with another nonce: Error(Invalid-Voucher), no CSR', async () => {
    const r = await swapVoucher((_w, v) => ({ ...v, nonce: new Uint8Array(randomBytes(16)) }));
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidVoucher);
    expect(r.pledge.failure?.reason).toMatch(/nonce/);
  });

  test('nonceless voucher: refused unless the pledge allows reduced security', async () => {
    const r = await swapVoucher((_w, v) => {
      const { nonce: _n, ...rest } = v;
      return { ...rest, expiresOn: toDateAndTime(new Date(Date.now() + 600_000)) };
    });
    expectRefusal(r, DEFAULT_BRSKI_ERROR_CODES.invalidVoucher);
  });

  test('a server that grants access without BRSKI (certificate-only, flow A): the pledge answers Result=Failure', async () => {
    const r = await run({ pledgePolicy: { certificateOnly: true, sequence: [] } });
    expect(sentKinds(r)).toEqual(['error', 'result']);
    expect(r.pledge.failure?.code).toBe(TeapErrorCode.AuthenticationInfrastructureNotTrusted);
    expect(r.c.server.kind).toBe('failure');
    expect(r.c.peer.kind).toBe('failure');
  });

  test('a PKCS#7 whose certificate is for another key: Error(General PKI Error) + Result=Failure, nothing installed', async () => {
    const other = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const r = await run({ prepare: (w) => void (w.ca.issueForKey = other.publicKey) });
    expect(r.world.ca.issued).toHaveLength(1);
    expect(r.pledge.failure?.code).toBe(TeapErrorCode.GeneralPkiError);
    expect(r.pledge.enrollment).toBeUndefined();
    expect(r.c.server.kind).toBe('failure');
    expect(r.c.peer.kind).toBe('failure');
  });

  test('a peer without the handler declines the BRSKI Request-Action (existing behaviour kept)', async () => {
    const w = await brskiWorld();
    const { TeapPeer } = await import('../../../src/peer/teap/teap-peer.js');
    const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', tls: { cert: w.pki.idevid.pem, key: w.pki.idevid.keyPem, rejectUnauthorized: false } });
    const c = await converse(w.method, peer, methodContext(new MemoryLog(), 1020));
    expect(c.server.kind).toBe('failure');
    expect(c.peer.kind).toBe('failure');
    if (c.peer.kind === 'failure') expect(c.peer.reason).toMatch(/declined the server's Request-Action/);
    expect(w.masa.calls).toBe(0);
  });
});

