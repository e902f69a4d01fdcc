/**
 * Self-test of the FreeRADIUS proxy harness (deploy/freeradius + test/helpers/freeradius-proxy.ts),
 * without Gangway: eapol_test -> FreeRADIUS proxy -> hostapd RADIUS server (the EAP reference peer).
 *
 * What must hold for Gangway behind the same proxy later:
 *  - EAP-Message / State / Message-Authenticator reach the home server intact (the EAP conversation
 *    completes, including TLS records that span several RADIUS round trips);
 *  - the Access-Accept reaches the NAS with MS-MPPE keys re-encrypted under the NAS secret (eapol_test
 *    decrypts them with its own secret and compares with the MSK it derived: "MPPE keys OK");
 *  - the NAS secret and the home secret are really distinct.
 *
 * Tools: Debian's eapol_test, freeradius + radclient, openssl, and the TEAP-capable eapol_test +
 * hostapd from scripts/build-hostap-tools.sh (.tools/hostap). Missing tools skip the suite locally and
 * fail it in CI (see require-tool.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describeEapolFailure, hostapTools, runEapolTest } from '../helpers/eapol-test.js';
import { type FreeradiusProxy, freeradiusTools, startFreeradiusProxy, statusServer } from '../helpers/freeradius-proxy.js';
import { type HostapdRadius, startHostapdRadius } from '../helpers/hostapd-radius.js';
import { makeOpensslPki, type TestPki } from '../helpers/openssl-pki.js';
import { requireTool } from '../helpers/require-tool.js';

const debianEapolTest = requireTool('eapol_test');
const openssl = requireTool('openssl');
const fr = freeradiusTools();
const hostap = hostapTools();

const HOME_SECRET = 'home-secret-3f9a';
const CLIENT_SECRET = 'nas-secret-71c2';

const ready = debianEapolTest && openssl && fr && hostap;
const describeInterop = ready ? describe : describe.skip;

describeInterop('FreeRADIUS proxy in front of an EAP server (hostapd as home server)', () => {
  let dir = '';
  let pki: TestPki;
  let home: HostapdRadius | undefined;
  let proxy: FreeradiusProxy | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-proxy-test-'));
    pki = makeOpensslPki(openssl!, dir);
    home = await startHostapdRadius({
      hostapd: hostap!.hostapd,
      secret: HOME_SECRET,
      eapUsers: [
        `"${pki.clientName}" TLS`,
        '"anonymous@gangway.test" TEAP',
        '"alice" MSCHAPV2 "correct horse" [2]',
        '',
      ].join('\n'),
      settings: [
        `ca_cert=${pki.caCert}`,
        `server_cert=${pki.serverCert}`,
        `private_key=${pki.serverKey}`,
        // EAP-TEAP in hostapd 2.10 needs the PAC settings even when no PAC is provisioned.
        'pac_opaque_encr_key=7f1c0d4e9a2b3c4d5e6f708192a3b4c5',
        'eap_fast_a_id=0a0b0c0d0e0f10111213141516171819',
        'eap_fast_a_id_info=gangway interop',
      ].join('\n'),
    });
    proxy = await startFreeradiusProxy({
      homeHost: home.host,
      homePort: home.port,
      homeSecret: HOME_SECRET,
      clientSecret: CLIENT_SECRET,
      tools: fr!,
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await home?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tlsPeer = (): string => `network={
	key_mgmt=WPA-EAP
	eap=TLS
	identity="${pki.clientName}"
	ca_cert="${pki.caCert}"
	domain_suffix_match="${pki.serverName}"
	client_cert="${pki.clientCert}"
	private_key="${pki.clientKey}"
}
`;

  test('answers Status-Server with the NAS secret', async () => {
    expect(await statusServer(fr!.radclient, proxy!.host, proxy!.port, CLIENT_SECRET)).toBe(true);
  });

  test('EAP-TLS (Debian eapol_test) through the proxy: SUCCESS, MPPE keys re-encrypted for the NAS', async () => {
    const r = await runEapolTest({
      binary: debianEapolTest!,
      config: tlsPeer(),
      port: proxy!.port,
      secret: proxy!.secret,
      reauths: 1,
      timeoutSec: 15,
    });
    if (!r.success) throw new Error(`${describeEapolFailure(r)}\n--- proxy log ---\n${proxy!.logTail()}`);
    expect(r.exitCode).toBe(0);
    expect(r.authSuccessCount).toBe(2);
    expect(r.acceptCount).toBe(2);
    expect({ mppeOk: r.mppeOk, mppeMismatch: r.mppeMismatch }).toEqual({ mppeOk: 2, mppeMismatch: 0 });
  });

  test('EAP-TEAP with MSCHAPv2 inner method (TEAP eapol_test) through the proxy', async () => {
    const r = await runEapolTest({
      binary: hostap!.eapolTest,
      config: (d) => `network={
	key_mgmt=WPA-EAP
	eap=TEAP
	identity="alice"
	anonymous_identity="anonymous@gangway.test"
	password="correct horse"
	phase2="auth=MSCHAPV2"
	ca_cert="${pki.caCert}"
	domain_suffix_match="${pki.serverName}"
	pac_file="${d}/teap.pac"
}
`,
      port: proxy!.port,
      secret: proxy!.secret,
      timeoutSec: 15,
    });
    if (!r.success) throw new Error(`${describeEapolFailure(r)}\n--- proxy log ---\n${proxy!.logTail()}`);
    expect(r.authSuccessCount).toBe(1);
    expect({ mppeOk: r.mppeOk, mppeMismatch: r.mppeMismatch }).toEqual({ mppeOk: 1, mppeMismatch: 0 });
  });

  test('rejections from the home server are relayed', async () => {
    const r = await runEapolTest({
      binary: debianEapolTest!,
      config: tlsPeer().replace(`identity="${pki.clientName}"`, 'identity="mallory@gangway.test"'),
      port: proxy!.port,
      secret: proxy!.secret,
      timeoutSec: 10,
    });
    expect(r.success).toBe(false);
    expect(r.exitCode).not.toBe(0);
    expect(r.rejectCount).toBe(1);
    expect(r.authSuccessCount).toBe(0);
  });

  test('the home secret is not accepted from the NAS side (request dropped, no answer)', async () => {
    const r = await runEapolTest({
      binary: debianEapolTest!,
      config: tlsPeer(),
      port: proxy!.port,
      secret: HOME_SECRET,
      timeoutSec: 3,
    });
    expect(r.success).toBe(false);
    expect(r.acceptCount + r.rejectCount).toBe(0);
    expect(r.timedOut).toBe(true);
    expect(readFileSync(proxy!.logFile, 'utf8')).toMatch(/invalid Message-Authenticator/);
  });
});
