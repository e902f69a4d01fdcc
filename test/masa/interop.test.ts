/**
 * Independent tools on the MASA's output and input: OpenSSL verifies its CMS vouchers against the
 * manufacturer CA with real path validation; curl (OpenSSL TLS, trusting only masa-ca.pem) posts
 * a registrar voucher-request and gets a voucher; Python's cbor2 decodes its constrained (COSE)
 * vouchers into the structure cBRSKI specifies, and our code verifies them.
 */
import { X509Certificate } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignedVoucherCms, SignedVoucherCose, checkVoucherForPledge, idevidIssuerOf } from '../../src/teap-brski/brski/voucher/index.js';
import { requestVoucherUrl } from '../../src/teap-brski/brski/masa-client.js';
import { masaUrlOf } from '../../src/teap-brski/brski/masa-url.js';
import { inCi, requireTool } from '../helpers/require-tool.js';
import {
  CMS, COSE, REQUEST_VOUCHER, type Registrar, type TestMasa, issuePledge, makeRegistrar, pledgeRequestCms, post,
  registrarRequestCms, registrarRequestCose, startTestMasa,
} from './harness.js';

const openssl = requireTool('openssl');
const curl = requireTool('curl');
// Debian's interpreter: python3-cbor2 installs for /usr/bin/python3, whatever else is on PATH.
const python = findCbor2();

function findCbor2(): string | undefined {
  const found = requireTool('python3 (for python3-cbor2)', '/usr/bin/python3');
  if (!found) return undefined;
  if (spawnSync(found, ['-c', 'import cbor2']).status === 0) return found;
  const message = `python module cbor2 missing for ${found} (apt-get install python3-cbor2)`;
  if (inCi()) throw new Error(`${message}; CI=true, so tests that need it fail instead of skipping`);
  console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING tests that need cbor2: ${message}.\n${'!'.repeat(72)}\n`);
  return undefined;
}

/** curl as a child process without blocking this process, which serves the MASA it talks to. */
function runCurl(args: string[], env?: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(curl as string, ['--max-time', '20', ...args], { env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let masa: TestMasa;
let registrar: Registrar;
let caFile: string;
beforeAll(async () => {
  masa = await startTestMasa();
  registrar = await makeRegistrar();
  caFile = join(masa.dir, 'manufacturer-ca.pem');
  writeFileSync(caFile, masa.manufacturerCaPem);
});
afterAll(() => masa.close());

let n = 0;
const serial = (): string => `IOP-${++n}`;

(openssl ? describe : describe.skip)('openssl cms -verify', () => {
  test('accepts the MASA\'s voucher with -CAfile manufacturer-ca.pem and prints its JSON; another anchor fails', async () => {
    const pledge = await issuePledge(masa, serial());
    const r = await post(masa, REQUEST_VOUCHER, await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der)), { 'content-type': CMS });
    expect(r.status).toBe(200);
    const voucherFile = join(masa.dir, 'voucher.der');
    writeFileSync(voucherFile, r.body);
    const verify = (anchor: string): ReturnType<typeof spawnSync> =>
      spawnSync(openssl as string, ['cms', '-verify', '-inform', 'DER', '-in', voucherFile, '-CAfile', anchor, '-purpose', 'any', '-binary']);
    const ok = verify(caFile);
    expect(ok.stderr.toString()).toContain('CMS Verification successful');
    expect(ok.status).toBe(0);
    const json = JSON.parse(ok.stdout.toString()) as { 'ietf-voucher:voucher': Record<string, unknown> };
    expect(json['ietf-voucher:voucher']).toMatchObject({
      'serial-number': pledge.serialNumber,
      assertion: 'logged',
      'pinned-domain-cert': Buffer.from(registrar.der).toString('base64'),
      'idevid-issuer': Buffer.from(idevidIssuerOf(pledge.der)).toString('base64'),
    });
    const wrongAnchor = join(masa.dir, 'registrar-ca.pem');
    writeFileSync(wrongAnchor, new X509Certificate(registrar.ca).toString());
    const bad = verify(wrongAnchor);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.toString()).toMatch(/unable to get local issuer certificate|Verify error/);
  });
});

(curl ? describe : describe.skip)('curl', () => {
  test('curl --cacert masa-ca.pem --data-binary @rvr.der gets a voucher; the MASA URL in the IDevID names this MASA', async () => {
    const pledge = await issuePledge(masa, serial());
    const rvrFile = join(masa.dir, 'rvr.der');
    writeFileSync(rvrFile, await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der)));
    const masaCaFile = join(masa.config.paths.tlsCaCert);
    const outFile = join(masa.dir, 'curl-voucher.der');
    // Where a registrar sends it: the IDevID's id-pe-masa-url, completed as RFC 8995 §2.3.2 says.
    const url = requestVoucherUrl(masaUrlOf(pledge.der) as string).href;
    expect(url).toBe(`https://${masa.authority}${REQUEST_VOUCHER}`);
    const r = await runCurl([
      '-sS', '--fail-with-body', '--cacert', masaCaFile, '--data-binary', `@${rvrFile}`, '-H', `Content-Type: ${CMS}`,
      '-o', outFile, '-w', '%{http_code} %{content_type}', url,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`200 ${CMS}`);
    const v = SignedVoucherCms.decode(new Uint8Array(readFileSync(outFile)));
    await v.verify({ trustAnchors: [new Uint8Array(new X509Certificate(masa.manufacturerCaPem).raw)] });
    expect(v.voucher().serialNumber).toBe(pledge.serialNumber);

    // A wrong media type, through curl: 415 with the reason as text.
    const refused = await runCurl(['-sS', '--cacert', masaCaFile, '--data-binary', `@${rvrFile}`, '-H', 'Content-Type: application/octet-stream', '-w', '\n%{http_code}', url]);
    expect(refused.stdout).toMatch(/is not application\/voucher-cms\+json.*\n415$/s);
  });

  test('curl trusting another anchor (the manufacturer CA) refuses the MASA\'s TLS certificate: exit 60', async () => {
    const r = await runCurl(['-sS', '--data-binary', 'x', '-H', `Content-Type: ${CMS}`, `https://${masa.authority}${REQUEST_VOUCHER}`], {
      ...process.env, CURL_CA_BUNDLE: caFile, SSL_CERT_FILE: caFile,
    });
    expect(r.status).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
  });
});

describe('constrained vouchers (application/voucher+cose)', () => {
  test('a COSE registrar request (COSE pledge request inside) gets a COSE voucher; our code verifies it with the manufacturer CA', async () => {
    const pledge = await issuePledge(masa, serial());
    const { rvr, nonce } = registrarRequestCose(registrar, pledge);
    const r = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': COSE });
    expect(r.status).toBe(200);
    expect(r.contentType).toBe(COSE);
    const signed = SignedVoucherCose.decode(new Uint8Array(r.body));
    const verified = signed.verify({ trustAnchors: [new Uint8Array(new X509Certificate(masa.manufacturerCaPem).raw)] });
    expect(verified.path).toHaveLength(2);
    const v = signed.voucher();
    expect(v.serialNumber).toBe(pledge.serialNumber);
    expect(Buffer.from(v.nonce as Uint8Array)).toEqual(Buffer.from(nonce));
    expect(() => checkVoucherForPledge(v, { serialNumber: pledge.serialNumber, idevid: pledge.der, nonce })).not.toThrow();
    expect(masa.running.masa.vouchers.entriesFor(pledge.serialNumber)[0]).toMatchObject({ format: 'cose' });
  });

  test('a COSE pledge request signed by another key than the IDevID issued for the serial: 403', async () => {
    const pledge = await issuePledge(masa, serial());
    const other = await issuePledge(masa, serial());
    const { rvr } = registrarRequestCose(registrar, { ...pledge, key: other.key });
    const r = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': COSE });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(new RegExp(`not signed by the IDevID of serial-number ${pledge.serialNumber}`));
  });

  test('Accept picks the voucher format: CMS request with Accept voucher+cose gets COSE, with q-values CMS', async () => {
    const pledge = await issuePledge(masa, serial());
    const rvr = await registrarRequestCms(registrar, pledge.der, await pledgeRequestCms(pledge, registrar.der));
    const cose = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': CMS, accept: COSE });
    expect(cose.contentType).toBe(COSE);
    SignedVoucherCose.decode(new Uint8Array(cose.body)).verify({ trustAnchors: [new Uint8Array(new X509Certificate(masa.manufacturerCaPem).raw)] });
    const pledge2 = await issuePledge(masa, serial());
    const rvr2 = await registrarRequestCms(registrar, pledge2.der, await pledgeRequestCms(pledge2, registrar.der));
    const cms = await post(masa, REQUEST_VOUCHER, rvr2, { 'content-type': CMS, accept: `${COSE};q=0.5, ${CMS};q=0.9` });
    expect(cms.contentType).toBe(CMS);
  });

  (python ? test : test.skip)('python cbor2 decodes the COSE voucher: tag 18, ES256, x5bag, SID-keyed payload, canonical', async () => {
    const pledge = await issuePledge(masa, serial());
    const { rvr, nonce } = registrarRequestCose(registrar, pledge);
    const r = await post(masa, REQUEST_VOUCHER, rvr, { 'content-type': COSE });
    expect(r.status).toBe(200);
    const script = String.raw`
import sys, json, cbor2
item = cbor2.loads(bytes.fromhex(sys.stdin.read().strip()))
protected, unprotected, payload, signature = item.value
body = cbor2.loads(payload)
(top, inner), = body.items()
def show(v):
    if isinstance(v, (bytes, bytearray)): return {"h": bytes(v).hex()}
    return v
print(json.dumps({
  "tag": item.tag,
  "protected": [[k, v] for k, v in cbor2.loads(protected).items()],
  "x5bag": [bytes(c).hex() for c in unprotected[32]],
  "top": top,
  "leaves": [[k, show(v)] for k, v in inner.items()],
  "canonical": cbor2.dumps(body, canonical=True) == payload,
  "siglen": len(signature),
}))
`;
    const out = spawnSync(python as string, ['-c', script], { input: r.body.toString('hex') });
    expect(out.stderr.toString()).toBe('');
    const view = JSON.parse(out.stdout.toString()) as {
      tag: number; protected: [number, number][]; x5bag: string[]; top: number; leaves: [number, unknown][]; canonical: boolean; siglen: number;
    };
    expect(view.tag).toBe(18);
    expect(view.protected).toEqual([[1, -7]]);
    expect(view.x5bag).toEqual([
      new X509Certificate(readFileSync(masa.config.paths.voucherSignerCert)).raw.toString('hex'),
      Buffer.from(new X509Certificate(masa.manufacturerCaPem).raw).toString('hex'),
    ]);
    expect(view.top).toBe(2451);
    const leaves = new Map(view.leaves);
    // constrained-voucher.md §1: voucher deltas 1 assertion, 2 created-on, 3 revocation checks, 5 idevid-issuer, 7 nonce, 8 pinned-domain-cert, 11 serial-number.
    expect([...leaves.keys()]).toEqual([1, 2, 3, 5, 7, 8, 11]);
    expect(leaves.get(1)).toBe(1); // logged
    expect(leaves.get(3)).toBe(false);
    expect(leaves.get(5)).toEqual({ h: Buffer.from(idevidIssuerOf(pledge.der)).toString('hex') });
    expect(leaves.get(7)).toEqual({ h: Buffer.from(nonce).toString('hex') });
    expect(leaves.get(8)).toEqual({ h: Buffer.from(registrar.der).toString('hex') });
    expect(leaves.get(11)).toBe(pledge.serialNumber);
    expect(view.canonical).toBe(true);
    expect(view.siglen).toBe(64);
  });
});
