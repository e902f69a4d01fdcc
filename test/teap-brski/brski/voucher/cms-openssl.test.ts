/**
 * OpenSSL as an independent CMS implementation: it verifies, with real path validation, the
 * vouchers and voucher-requests we sign and prints the JSON we put in; and what `openssl cms -sign`
 * writes (id-data, the RFC 8995 reference shape) passes our verification.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SignedVoucherCms, Voucher, createPledgeVoucherRequest, createRegistrarVoucherRequest, serializeVoucherJson, signVoucherCms,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { requireTool } from '../../../helpers/require-tool.js';
import { type BrskiPki, makeBrskiPki, writePem } from './test-pki.js';

const openssl = requireTool('openssl');
const describeWithOpenssl = openssl ? describe : describe.skip;

describeWithOpenssl('openssl cms interop', () => {
  let dir: string;
  let pki: BrskiPki;
  const run = (args: string[]): { status: number | null; stdout: Buffer; stderr: string } => {
    const r = spawnSync(openssl as string, args, { cwd: dir });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  };
  const file = (name: string, bytes?: Uint8Array): string => {
    const path = join(dir, name);
    if (bytes) writeFileSync(path, bytes);
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-voucher-openssl-'));
    pki = await makeBrskiPki('OPENSSL-0042');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function opensslVerify(cms: string, anchor: string, out: string): { status: number | null; stderr: string } {
    return run(['cms', '-verify', '-inform', 'DER', '-in', cms, '-CAfile', anchor, '-purpose', 'any', '-binary', '-out', out]);
  }

  it('verifies a voucher we signed (id-ct-animaJSONVoucher) against the manufacturer CA and prints our JSON', async () => {
    const voucher = new Voucher({
      assertion: 'logged',
      createdOn: '2026-04-01T12:00:00.000Z',
      serialNumber: pki.serialNumber,
      nonce: new Uint8Array(16).fill(9),
      pinnedDomainCert: pki.domainCa.der,
    });
    const signed = await signVoucherCms(voucher, { certificate: pki.masa.der, privateKey: pki.masa.key, chain: [pki.manufacturerCa.der] });
    const r = opensslVerify(file('voucher.vcj', signed), writePem(join(dir, 'manufacturer.pem'), pki.manufacturerCa), file('voucher.json'));
    expect(r.stderr).toContain('CMS Verification successful');
    expect(r.status).toBe(0);
    expect(new Uint8Array(readFileSync(file('voucher.json')))).toEqual(serializeVoucherJson(voucher));
    const printed = run(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file('voucher.vcj')]).stdout.toString();
    expect(printed).toMatch(/eContentType: .*1\.2\.840\.113549\.1\.9\.16\.1\.40/);
    expect(printed).toMatch(/object: contentType[^]*object: signingTime[^]*object: messageDigest/);

    // A real verification: the wrong anchor fails.
    const wrong = opensslVerify(file('voucher.vcj'), writePem(join(dir, 'domain.pem'), pki.domainCa), file('wrong.json'));
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/[Vv]erify error|unable to get local issuer/);
  });

  it('verifies a registrar voucher-request we signed (cmcRA + serverAuth signer, domain CA included)', async () => {
    const pvr = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der });
    const pvrBytes = await signVoucherCms(pvr, { certificate: pki.idevid.der, privateKey: pki.idevid.key });
    const rvr = createRegistrarVoucherRequest({ idevid: pki.idevid.der, priorSigned: { bytes: pvrBytes, request: pvr } });
    const signed = await signVoucherCms(rvr, { certificate: pki.registrar.der, privateKey: pki.registrar.key, chain: [pki.domainCa.der] });
    const r = opensslVerify(file('rvr.vcj', signed), writePem(join(dir, 'domain.pem'), pki.domainCa), file('rvr.json'));
    expect(r.stderr).toContain('CMS Verification successful');
    expect(r.status).toBe(0);
    expect(new Uint8Array(readFileSync(file('rvr.json')))).toEqual(serializeVoucherJson(rvr));

    // The pledge's request inside verifies against the manufacturer CA too.
    const inner = opensslVerify(file('pvr.vcj', pvrBytes), writePem(join(dir, 'manufacturer.pem'), pki.manufacturerCa), file('pvr.json'));
    expect(inner.status).toBe(0);
    expect(new Uint8Array(readFileSync(file('pvr.json')))).toEqual(serializeVoucherJson(pvr));
  });

  it('accepts what openssl cms -sign writes (id-data), and refuses it without signed attributes (8366bis)', async () => {
    const voucher = new Voucher({ assertion: 'verified', serialNumber: pki.serialNumber, pinnedDomainCert: pki.registrar.der });
    file('content.json', serializeVoucherJson(voucher));
    writePem(join(dir, 'masa.pem'), pki.masa);
    writeFileSync(join(dir, 'masa.key'), pki.masa.keyPem);
    writePem(join(dir, 'manufacturer.pem'), pki.manufacturerCa);
    const sign = (out: string, extra: string[]): void => {
      const r = run(['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-in', 'content.json', '-signer', 'masa.pem', '-inkey', 'masa.key',
        '-certfile', 'manufacturer.pem', '-md', 'sha256', '-out', out, ...extra]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    };
    sign('openssl.vcj', []);
    const signed = SignedVoucherCms.decode(new Uint8Array(readFileSync(file('openssl.vcj'))));
    expect(signed.cms.contentType).toBe('data');
    const verified = await signed.verify({ trustAnchors: [pki.manufacturerCa.der] });
    expect(verified.signerCertificate).toEqual(pki.masa.der);
    expect(verified.path).toEqual([pki.masa.der, pki.manufacturerCa.der]);
    expect(signed.voucher()).toEqual(voucher);

    sign('noattr.vcj', ['-noattr']);
    const bare = SignedVoucherCms.decode(new Uint8Array(readFileSync(file('noattr.vcj'))));
    await expect(bare.verify()).rejects.toMatchObject({ code: 'signature-invalid', message: expect.stringContaining('no signed attributes') });
  });
});
