/**
 * The PEAPv0 peer the benchmark uses for FreeRADIUS's and hostapd's password-in-tunnel method:
 * its refusals in memory, and whole conversations against hostapd 2.10 and FreeRADIUS 3.2 (when
 * installed; required under CI), where the Access-Accept's MS-MPPE keys must equal its MSK.
 */
import * as tls from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EapCode, EapType, encodeEap } from '../../../src/eap-methods/eap-packet.js';
import { PeapPeer } from '../../../src/peer/peap/peap-peer.js';
import { runEapOverRadius } from '../../../src/peer/radius-runner.js';
import { createBenchFixture, type BenchFixture } from '../../../src/bench/fixture.js';
import { startFreeradiusTarget } from '../../../src/bench/freeradius-target.js';
import { startHostapdTarget } from '../../../src/bench/hostapd-target.js';
import type { ServerTarget } from '../../../src/bench/target.js';
import { freeUdpPort } from '../../../src/bench/udp-port.js';
import { hostapTools } from '../../helpers/eapol-test.js';
import { freeradiusTools } from '../../helpers/freeradius-proxy.js';

const tools = hostapTools();
const freeradius = freeradiusTools();

function peer(f: BenchFixture, password = f.teapUser.password): PeapPeer {
  return new PeapPeer({
    outerIdentity: f.peapOuterIdentity,
    user: { identity: f.teapUser.name, password },
    tls: { secureContext: tls.createSecureContext({ ca: f.pem.ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), servername: f.serverName },
  });
}

describe('PeapPeer in memory', () => {
  const p = new PeapPeer({ outerIdentity: 'anonymous@x', user: { identity: 'u', password: 'p' }, tls: {} });
  afterAll(() => p.dispose());

  test('an EAP-Success before the tunnel and its Result TLV is a failure, not keys', async () => {
    expect(await p.receive(encodeEap({ code: EapCode.Success, identifier: 1 }))).toEqual({ kind: 'failure', reason: expect.stringMatching(/before the inner authentication/) });
  });

  test('another method proposed first is answered with a Nak for PEAP', async () => {
    const a = await p.receive(encodeEap({ code: EapCode.Request, identifier: 2, type: EapType.Tls, data: Uint8Array.of(0x20) }));
    expect(a.kind).toBe('send');
    if (a.kind === 'send') expect([...a.eap]).toEqual([EapCode.Response, 2, 0, 6, EapType.Nak, EapType.Peap]);
  });

  test('a malformed packet ends the conversation with a reason', async () => {
    expect(await p.receive(Uint8Array.of(1, 2, 0))).toMatchObject({ kind: 'failure', reason: expect.stringMatching(/malformed/) });
  });
});

describe.each([
  ['hostapd 2.10', tools ? (f: BenchFixture) => startHostapdTarget(tools.hostapd, f) : undefined],
  ['FreeRADIUS 3.2', freeradius ? (f: BenchFixture) => startFreeradiusTarget(freeradius.freeradius, f) : undefined],
] as const)('PeapPeer against %s', (_name, start) => {
  jest.setTimeout(60_000);
  let dir: string;
  let fixture: BenchFixture;
  let server: ServerTarget | undefined;
  beforeAll(async () => {
    if (!start) return;
    dir = mkdtempSync(join(tmpdir(), 'gangway-peap-'));
    fixture = await createBenchFixture(join(dir, 'data'), await freeUdpPort());
    server = await start(fixture);
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const run = (p: PeapPeer) => runEapOverRadius(p, { host: server!.host, port: server!.port, secret: server!.secret, userName: fixture.peapOuterIdentity, callingStationId: '02-00-00-00-00-01' });

  (start ? test : test.skip)('PEAPv0 with inner EAP-MSCHAPv2: Access-Accept, MS-MPPE keys equal to the MSK', async () => {
    const r = await run(peer(fixture));
    expect({ outcome: r.outcome, reason: r.reason, mppeMatches: r.mppeMatches }).toEqual({ outcome: 'accept', reason: undefined, mppeMatches: true });
    expect(r.peer).toMatchObject({ kind: 'success' });
  });

  (start ? test : test.skip)('a tunnel that came up as TLS 1.3 yields no keys (PEAPv0 keying is defined for TLS 1.2)', async () => {
    // A secureContext keeps its own version bounds; this one allows TLS 1.3, which both servers choose.
    const loose = new PeapPeer({
      outerIdentity: fixture.peapOuterIdentity, user: { identity: fixture.teapUser.name, password: fixture.teapUser.password },
      tls: { secureContext: tls.createSecureContext({ ca: fixture.pem.ca, maxVersion: 'TLSv1.3' }), servername: fixture.serverName },
    });
    const r = await run(loose);
    expect(r.reason).toMatch(/PEAPv0 keying needs TLS 1.2, the tunnel is TLSv1.3/);
    expect(r.mppeMatches).toBe(false);
  });

  (start ? test : test.skip)('a wrong password ends in Access-Reject', async () => {
    const r = await run(peer(fixture, 'not the password'));
    expect(r.outcome).toBe('reject');
    expect(r.mppeMatches).toBe(false);
  });
});
