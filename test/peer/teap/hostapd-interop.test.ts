/**
 * Our TEAP peer against hostapd 2.10's TEAP server (built by scripts/build-hostap-tools.sh) over
 * RADIUS. hostapd runs with -dd -K, so its own "Derived key (MSK)" can be compared with ours.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostapTools } from '../../helpers/eapol-test.js';
import { startHostapdRadius, type HostapdRadius } from '../../helpers/hostapd-radius.js';
import { testPki } from '../../helpers/pki.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { TeapPeer, type TeapPeerConfig } from '../../../src/peer/teap/teap-peer.js';
import { runTeapOverRadius, type TeapRadiusResult } from '../../../src/peer/teap/radius-runner.js';
import { ALICE_PASSWORD, MACHINE_PASSWORD, WRONG_PASSWORD } from '../../helpers/test-secrets.js';

const tools = hostapTools();
const maybe = tools ? describe : describe.skip;
const SECRET = 'testing123';
const EAP_USERS = `"anonymous@example.com" TEAP
* TEAP
"alice" MSCHAPV2 "${ALICE_PASSWORD}" [2]
"host/machine1" MSCHAPV2 "${MACHINE_PASSWORD}" [2]
"alice@example.com" TLS [2]
"/CN=alice" TLS [2]
`;

/** The hexdump hostapd prints for a key with -K (e.g. "EAP-TEAP: Derived key (MSK) - hexdump(len=64): ae 6f ..."). */
function loggedKey(log: string, label: string): string | undefined {
  const re = new RegExp(`${label.replace(/[()[\]]/g, '\\$&')} - hexdump\\(len=\\d+\\):((?: [0-9a-f]{2})+)`, 'g');
  let last: string | undefined;
  for (const m of log.matchAll(re)) last = m[1]!.replace(/ /g, '');
  return last;
}

async function startHostapd(extra: string): Promise<HostapdRadius> {
  const pki = await testPki();
  return startHostapdRadius({
    hostapd: tools!.hostapd,
    secret: SECRET,
    eapUsers: EAP_USERS,
    settings: (dir) => {
      writeFileSync(join(dir, 'ca.pem'), pki.ca.certPem);
      writeFileSync(join(dir, 'server.pem'), pki.server.certPem);
      writeFileSync(join(dir, 'server.key'), pki.server.keyPem, { mode: 0o600 });
      return [
        `ca_cert=${join(dir, 'ca.pem')}`,
        `server_cert=${join(dir, 'server.pem')}`,
        `private_key=${join(dir, 'server.key')}`,
        'pac_opaque_encr_key=000102030405060708090a0b0c0d0e0f',
        'eap_fast_a_id=101112131415161718191a1b1c1d1e1f',
        'eap_fast_a_id_info=test server',
        extra,
      ].join('\n');
    },
  });
}

async function run(extra: string, cfg: Partial<TeapPeerConfig> = {}, tlsVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.2'): Promise<{ r: TeapRadiusResult; log: string; peer: TeapPeer }> {
  const pki = await testPki();
  const hapd = await startHostapd(extra);
  const peer = new TeapPeer({
    outerIdentity: 'anonymous@example.com',
    user: { identity: 'alice', password: ALICE_PASSWORD },
    log: new MemoryLog(),
    ...cfg,
    tls: { ca: pki.ca.certPem, servername: 'radius.test.example', minVersion: tlsVersion, maxVersion: tlsVersion, ...cfg.tls },
  });
  try {
    const r = await runTeapOverRadius(peer, { host: hapd.host, port: hapd.port, secret: SECRET, userName: 'anonymous@example.com' });
    return { r, log: hapd.log(), peer };
  } finally {
    await hapd.stop();
  }
}

function expectAccepted(x: { r: TeapRadiusResult; log: string }): void {
  const { r, log } = x;
  if (r.outcome !== 'accept' || r.peer?.kind !== 'success') {
    throw new Error(`not accepted: ${r.outcome} ${r.reason ?? ''}\n${log.split('\n').filter((l) => /TEAP|EAP:/.test(l)).slice(-40).join('\n')}`);
  }
  expect(r.mppeMatches).toBe(true);
  // hostapd's own MSK (-K) equals ours.
  expect(loggedKey(log, 'EAP-TEAP: Derived key (MSK)')).toBe(Buffer.from(r.peer.msk).toString('hex'));
  expect(r.eapKeyName && Buffer.from(r.eapKeyName).toString('hex')).toBe(Buffer.from(r.peer.sessionId).toString('hex'));
}

maybe('our TEAP peer against hostapd 2.10 (RADIUS)', () => {
  jest.setTimeout(60_000);

  test('inner EAP-MSCHAPv2, TLS 1.2: Access-Accept, MS-MPPE keys and hostapd\'s MSK equal ours', async () => {
    const x = await run('');
    expectAccepted(x);
    expect(x.peer.detectedMschapV2Order).toBe('hostapd-2.10');
  });

  test('inner EAP-MSCHAPv2 over TLS 1.3 (hostapd profile)', async () => {
    const x = await run('tls_flags=[ENABLE-TLSv1.3]', {}, 'TLSv1.3');
    expectAccepted(x);
    expect(x.peer.tlsProtocol).toBe('TLSv1.3');
  });

  test('Basic-Password-Auth (eap_teap_auth=1)', async () => {
    expectAccepted(await run('eap_teap_auth=1'));
  });

  test('user then machine (eap_teap_id=5), two inner EAP-MSCHAPv2 methods', async () => {
    expectAccepted(await run('eap_teap_id=5', { machine: { identity: 'host/machine1', password: MACHINE_PASSWORD } }));
  });

  test('inner EAP-TLS (MSK + EMSK, Flags 3)', async () => {
    const pki = await testPki();
    expectAccepted(await run('', { user: { identity: 'alice@example.com', tls: { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, servername: 'radius.test.example' } } }));
  });

  test('Phase-1 client certificate only (eap_teap_auth=2)', async () => {
    const pki = await testPki();
    expectAccepted(await run('eap_teap_auth=2', { user: undefined, tls: { cert: pki.client.certPem, key: pki.client.keyPem } }));
  });

  test('fragment_size=300: hostapd fragments, we ACK and reassemble', async () => {
    expectAccepted(await run('fragment_size=300', { fragmentSize: 200 }));
  });

  test('wrong password: Access-Reject and a failure verdict from the peer', async () => {
    const x = await run('', { user: { identity: 'alice', password: WRONG_PASSWORD } });
    expect(x.r.outcome).toBe('reject');
    expect(x.r.peer?.kind).toBe('failure');
  });
});
