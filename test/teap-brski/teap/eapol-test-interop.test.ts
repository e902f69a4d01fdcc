/**
 * wpa_supplicant 2.10's eapol_test (TEAP build from scripts/build-hostap-tools.sh) against our TEAP
 * server method behind our RADIUS front end. Success means Access-Accept AND MS-MPPE keys equal to
 * the peer's MSK ("MPPE keys OK"), so every key-schedule detail has to agree with wpa_supplicant.
 */
import { join } from 'node:path';
import { describeEapolFailure, hostapTools, runEapolTest, type EapolTestResult } from '../../helpers/eapol-test.js';
import { SECRET, startTeapRadius, type TeapRadius } from '../radius-harness.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import { useServerTlsEngine } from '../../helpers/gangway.js';
import { ALICE_PASSWORD, MACHINE_PASSWORD, WRONG_PASSWORD } from '../../helpers/test-secrets.js';

const tools = hostapTools();
const maybe = tools ? describe : describe.skip;

function network(s: TeapRadius, body: string): (dir: string) => string {
  return (dir) => `network={
  ssid="teap-test"
  key_mgmt=WPA-EAP
  eap=TEAP
  anonymous_identity="anonymous@example.com"
  ca_cert="${join(s.dir, 'ca.pem')}"
  domain_suffix_match="radius.test.example"
  pac_file="${join(dir, 'teap.pac')}"
${body}
}
`;
}

const MSCHAP = `  identity="alice"\n  password="${ALICE_PASSWORD}"\n  phase2="auth=MSCHAPV2"`;

async function eapol(s: TeapRadius, body: string, extraArgs: string[] = []): Promise<EapolTestResult> {
  return runEapolTest({ binary: tools!.eapolTest, config: network(s, body), port: s.port, secret: SECRET, timeoutSec: 15, extraArgs: ['-e', ...extraArgs] });
}

function expectOk(r: EapolTestResult, sessionId = true): void {
  expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
  expect(r.mppeOk).toBe(1);
  expect(r.mppeMismatch).toBe(0);
  if (sessionId) expect(r.output).toContain('Locally derived EAP Session-Id matches EAP-Key-Name from server');
}

maybe.each(serverTlsEngines())('eapol_test 2.10 (TEAP) against our TEAP server, %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  jest.setTimeout(60_000);
  let s: TeapRadius | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  test('inner EAP-MSCHAPv2, TLS 1.2 (compat defaults)', async () => {
    s = await startTeapRadius();
    expectOk(await eapol(s, MSCHAP));
  });

  test('inner EAP-MSCHAPv2, TLS 1.3 (phase1 tls_disable_tlsv1_3=0, hostapd profile)', async () => {
    s = await startTeapRadius({}, 'TLSv1.3');
    const r = await eapol(s, `${MSCHAP}\n  phase1="tls_disable_tlsv1_3=0"`);
    expectOk(r);
    expect(r.output).toContain('TLSv1.3');
  });

  test('fragmentation in both directions: fragment_size=300 on the peer, 300-octet EAP packets on the server', async () => {
    // A Phase-1 client certificate makes the peer's flight larger than 300 octets too.
    s = await startTeapRadius({ policy: { clientCertificate: 'optional' } }, 'TLSv1.2', 300);
    const r = await eapol(s, `${MSCHAP}\n  fragment_size=300\n  client_cert="${join(s.dir, 'client.pem')}"\n  private_key="${join(s.dir, 'client.key')}"`);
    expectOk(r);
    // The peer reassembled our fragments (L+M flags, then ACKs) and fragmented its own flight.
    expect(r.output).toMatch(/SSL: Received packet\(len=\d+\) - Flags 0xc1/);
    expect(r.output).toContain('more fragments will follow');
  });

  test('Basic-Password-Auth', async () => {
    s = await startTeapRadius({ policy: { sequence: [{ methods: ['basic-password'] }] } });
    expectOk(await eapol(s, MSCHAP));
  });

  test('inner EAP-TLS (MSK + EMSK)', async () => {
    s = await startTeapRadius();
    const d = s.dir;
    expectOk(await eapol(s, `  identity="alice"\n  phase2="auth=TLS"\n  ca_cert2="${join(d, 'ca.pem')}"\n  client_cert2="${join(d, 'client.pem')}"\n  private_key2="${join(d, 'client.key')}"`));
  });

  test('Phase-1 client certificate only', async () => {
    s = await startTeapRadius({ policy: { clientCertificate: 'required', certificateOnly: true, sequence: [] } });
    const d = s.dir;
    const r = await eapol(s, `  identity="anonymous@example.com"\n  client_cert="${join(d, 'client.pem')}"\n  private_key="${join(d, 'client.key')}"`);
    // wpa_supplicant 2.10 exports no Session-Id when no inner method ran ("EAP: Session-Id [NULL]").
    expectOk(r, false);
    expect(s.log.lines.some((l) => l.msg === 'TEAP: Phase-1 client certificate accepted, certificate-only authentication')).toBe(true);
  });

  test('user then machine (Identity-Type 1, then 2)', async () => {
    s = await startTeapRadius({ policy: { sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['eap-mschapv2'] }] } });
    const r = await eapol(s, `${MSCHAP}\n  machine_identity="host/machine1"\n  machine_password="${MACHINE_PASSWORD}"\n  machine_phase2="auth=MSCHAPV2"`);
    expectOk(r);
    expect(s.log.lines.filter((l) => l.msg === 'TEAP: inner method succeeded').map((l) => (l.obj as { identityType: string }).identityType)).toEqual(['user', 'machine']);
  });

  test('RFC 9930 MSCHAPv2 key order is refused by wpa_supplicant 2.10 (Q1): Access-Reject, cause logged', async () => {
    s = await startTeapRadius({ compat: { mschapv2ImskOrder: 'rfc9930' } });
    const r = await eapol(s, MSCHAP);
    expect(r.success).toBe(false);
    expect(r.rejectCount).toBe(1);
    expect(s.log.lines.some((l) => l.msg === 'Access-Reject' && /Result=Failure/.test(String((l.obj as { reason?: string }).reason)))).toBe(true);
  });

  test('wrong password: Access-Reject with the cause in the log', async () => {
    s = await startTeapRadius();
    const r = await eapol(s, MSCHAP.replace(`"${ALICE_PASSWORD}"`, `"${WRONG_PASSWORD}"`));
    expect(r.success).toBe(false);
    expect(r.rejectCount).toBe(1);
    expect(s.log.lines.some((l) => l.msg === 'Access-Reject' && /wrong password for "alice"/.test(String((l.obj as { reason?: string }).reason)))).toBe(true);
  });
});
