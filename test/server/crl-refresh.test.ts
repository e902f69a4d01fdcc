/**
 * Issue 8, item 6, the CRL-rollover test: a running server (real UDP, our EAP-TLS peer) re-reads
 * its CRL file when the file changes, without a SIGHUP. A CRL revoking the client takes effect
 * within the poll interval; a broken, expired or older CRL written over it is refused with the file
 * and the reason in the log, and the CRL in force keeps deciding; a SIGHUP meanwhile applies the
 * rest of the configuration. A CRL in force that passes its
 * nextUpdate refuses every client (OpenSSL), until the CA's next CRL lands in the file.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import type { InitResult } from '../../src/cli/init.js';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import { issueCrl } from '../../src/pki/crl.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { sleep } from '../helpers/proc.js';
import { TEST_RADIUS_SECRET } from '../helpers/test-secrets.js';
import { serverTlsEngines } from '../helpers/tls-engines.js';

const DAY = 86_400_000;
const POLL_SECONDS = 1;

describe.each(serverTlsEngines())('CRL file re-read on change (%s engine)', (engine) => {
  let g: TestGangway | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });

  const crlPath = (init: InitResult): string => join(init.dataDir, 'pki', 'ca.crl');
  async function crl(init: InitResult, revoked: string[], crlNumber: bigint, thisUpdate = new Date(Date.now() - 60_000), nextUpdate = new Date(Date.now() + DAY)): Promise<string> {
    return issueCrl(readFileSync(init.files.caCert, 'utf8'), readFileSync(init.files.caKey, 'utf8'), revoked, { thisUpdate, nextUpdate, crlNumber });
  }
  /** How a CA tool publishes: a new file renamed over the old one. */
  function replace(init: InitResult, text: string): void {
    const tmp = `${crlPath(init)}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, crlPath(init));
  }

  async function start(first: (init: InitResult) => Promise<string>): Promise<TestGangway> {
    g = await startTestGangway({
      tlsEngine: engine,
      prepare: async (init) => writeFileSync(crlPath(init), await first(init)),
      configure: (doc) => {
        doc.tls = { ...(doc.tls as object | undefined), crl: ['pki/ca.crl'], crlPollSeconds: POLL_SECONDS };
      },
    });
    return g;
  }

  async function eapTls(t: TestGangway): Promise<string> {
    const f = t.init.files;
    const peer = new EapTlsEapPeer({ identity: 'demo-client', tls: { cert: readFileSync(f.clientCert), key: readFileSync(f.clientKey), ca: readFileSync(f.caCert), servername: 'radius.test.example' } });
    const r = await runEapOverRadius(peer, { host: '127.0.0.1', port: t.port, secret: t.secret, userName: 'demo-client' });
    return r.outcome === 'accept' && r.mppeMatches ? 'accept' : `${r.outcome}: ${r.reason ?? ''}`;
  }

  const lines = (t: TestGangway, msg: string) => t.log.lines.filter((l) => l.msg === msg).map((l) => l.obj as Record<string, unknown>);
  /** Waits for the `n`-th log line `msg`; the watcher polls every POLL_SECONDS, so a few seconds is ample even under load. */
  async function logged(t: TestGangway, msg: string, n: number): Promise<Record<string, unknown>> {
    for (let i = 0; i < 200 && lines(t, msg).length < n; i++) await sleep(50);
    const all = lines(t, msg);
    if (all.length < n) throw new Error(`no "${msg}" #${n} in the log:\n${JSON.stringify(t.log.lines.slice(-10), null, 1)}`);
    return all[n - 1]!;
  }

  test('a revoking CRL applies without SIGHUP; broken, expired and older CRLs are refused and the one in force stays', async () => {
    const t = await start((init) => crl(init, [], 1n));
    const file = crlPath(t.init);
    const serial = new X509Certificate(readFileSync(t.init.files.clientCert)).serialNumber;
    expect(await eapTls(t)).toBe('accept');

    const written = Date.now();
    replace(t.init, await crl(t.init, [serial], 2n));
    expect(await logged(t, 'CRL in force', 1)).toMatchObject({ file, why: 'file changed', crls: [expect.objectContaining({ crlNumber: '2', revoked: 1 })] });
    // Noticed by a poll, not by luck: well within a few intervals even on a loaded machine.
    expect(Date.now() - written).toBeLessThan(10 * POLL_SECONDS * 1000);
    // node:tls finishes the handshake and the method rejects; OpenSSL refuses it with alert 44.
    expect(await eapTls(t)).toMatch(/^reject|alert certificate revoked/);

    const refusedAs = async (n: number, reason: RegExp): Promise<void> => {
      expect(await logged(t, 'CRL file changed but was refused; the CRLs in force stay', n)).toMatchObject({ file, reason: expect.stringMatching(reason) });
      expect(await eapTls(t)).toMatch(/^reject|alert certificate revoked/);
    };
    // Written in place (no rename), revoking nothing, but past its nextUpdate.
    writeFileSync(file, await crl(t.init, [], 3n, new Date(Date.now() - 2 * DAY), new Date(Date.now() - DAY)));
    await refusedAs(1, /^CRL of .* expired at .* \(nextUpdate\)$/);
    replace(t.init, '-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n');
    await refusedAs(2, /^not a CRL/);
    // An older CRL (a restored backup) that lacks the revocation.
    replace(t.init, await crl(t.init, [], 1n));
    await refusedAs(3, /older than the one in force \(CRL number 1 < 2\)/);
    // Refused once, not again at every poll: the file did not change since.
    await sleep(3 * POLL_SECONDS * 1000);
    expect(lines(t, 'CRL file changed but was refused; the CRLs in force stay')).toHaveLength(3);

    // A SIGHUP with a CRL that is refused applies everything else (here a new RADIUS client); the
    // file keeps its CRL in force, and the refusal is logged and returned (review finding).
    writeFileSync(file, await crl(t.init, [], 5n, new Date(Date.now() - 2 * DAY), new Date(Date.now() - DAY)));
    const doc = parse(readFileSync(t.init.config, 'utf8')) as { radius: { clients: unknown[] } };
    doc.radius.clients.push({ name: 'added', address: '192.0.2.7', secret: TEST_RADIUS_SECRET });
    writeFileSync(t.init.config, stringify(doc), { mode: 0o600 });
    const reloaded = await t.running.reload(loadConfig(t.init.dataDir));
    expect(reloaded.refusedCrls).toEqual([{ path: file, reason: expect.stringMatching(/^CRL of .* expired at .* \(nextUpdate\)$/) }]);
    expect(lines(t, 'configuration reloaded').at(-1)).toMatchObject({ clients: 3, refusedCrls: [file] });
    expect(lines(t, 'CRL file refused by the reload; the CRLs in force stay').at(-1)).toMatchObject({ file, reason: expect.stringMatching(/expired at/) });
    expect(await eapTls(t)).toMatch(/^reject|alert certificate revoked/);

    // A CRL file named for the first time that is refused refuses the whole reload: applying the
    // rest would leave its CA without revocation checking, here every CRL (review finding).
    const before = readFileSync(t.init.config, 'utf8');
    writeFileSync(join(t.init.dataDir, 'pki', 'other.crl'), await crl(t.init, [], 7n, new Date(Date.now() - 2 * DAY), new Date(Date.now() - DAY)));
    const swapped = parse(before) as { tls: { crl: string[] }; radius: { clients: unknown[] } };
    swapped.tls.crl = ['pki/other.crl'];
    swapped.radius.clients.push({ name: 'added-again', address: '192.0.2.8', secret: TEST_RADIUS_SECRET });
    writeFileSync(t.init.config, stringify(swapped), { mode: 0o600 });
    await expect(t.running.reload(loadConfig(t.init.dataDir))).rejects.toThrow(/other\.crl: CRL of .* expired at .*; a CRL file new in the configuration must be acceptable, nothing was changed/);
    expect(lines(t, 'configuration reloaded').at(-1)).toMatchObject({ clients: 3 });
    expect(await eapTls(t)).toMatch(/^reject|alert certificate revoked/);
    writeFileSync(t.init.config, before, { mode: 0o600 });

    // The CA un-revokes nothing, but its next CRL no longer lists the client: accepted again.
    replace(t.init, await crl(t.init, [], 6n));
    expect(await logged(t, 'CRL in force', 2)).toMatchObject({ file, crls: [expect.objectContaining({ crlNumber: '6', revoked: 0 })] });
    expect(await eapTls(t)).toBe('accept');
  }, 90_000);

  test('a CRL in force passing its nextUpdate refuses every client until the next CRL is written; no restart', async () => {
    // Second precision in the CRL: nextUpdate a few whole seconds ahead.
    const nextUpdate = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000);
    const t = await start((init) => crl(init, [], 1n, new Date(Date.now() - 60_000), nextUpdate));
    expect(await eapTls(t)).toBe('accept');
    await sleep(nextUpdate.getTime() - Date.now() + 1000);
    expect(await eapTls(t)).not.toBe('accept');
    expect(await logged(t, 'CRL in force is past its nextUpdate: OpenSSL refuses every certificate it covers until a newer CRL is written to the file', 1)).toMatchObject({
      file: crlPath(t.init),
      nextUpdate: nextUpdate.toISOString(),
    });
    replace(t.init, await crl(t.init, [], 2n));
    await logged(t, 'CRL in force', 1);
    expect(await eapTls(t)).toBe('accept');
  }, 60_000);
});
