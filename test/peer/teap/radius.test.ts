import { join } from 'node:path';
import { TeapPeer } from '../../../src/peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../../src/peer/teap/radius-runner.js';
import { run as teapPeerCli } from '../../../src/cli/commands/teap-peer.js';
import { readFileSync } from 'node:fs';
import { SECRET, startTeapRadius, type TeapRadius } from '../../teap-brski/radius-harness.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import { useServerTlsEngine } from '../../helpers/gangway.js';
import { ALICE_PASSWORD, WRONG_PASSWORD } from '../../helpers/test-secrets.js';

describe.each(serverTlsEngines())('our TEAP peer against our TEAP server over RADIUS (loopback), %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  let s: TeapRadius;
  beforeAll(async () => {
    s = await startTeapRadius();
  });
  afterAll(async () => {
    await s.close();
  });

  test('library: Access-Accept, MS-MPPE keys = MSK halves, EAP-Key-Name = Session-Id', async () => {
    const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, tls: { ca: readFileSync(join(s.dir, 'ca.pem')), servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
    const r = await runTeapOverRadius(peer, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com', framedMtu: 600 });
    expect(r.outcome).toBe('accept');
    expect(r.mppeMatches).toBe(true);
    expect(r.peer?.kind === 'success' && Buffer.from(r.eapKeyName!).equals(Buffer.from(r.peer.sessionId))).toBe(true);
    expect(r.rounds).toBeGreaterThan(5);
  });

  test('library: a caller that reuses its receive buffer for the next packet still authenticates', async () => {
    const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', user: { identity: 'alice', password: ALICE_PASSWORD }, tls: { ca: readFileSync(join(s.dir, 'ca.pem')), servername: 'radius.test.example', maxVersion: 'TLSv1.2' } });
    // What a NAS-side loop with one receive buffer does: the peer must keep what it needs later
    // (the server's Outer TLVs, until the Crypto-Binding), not views of the buffer.
    const scratch = new Uint8Array(4096);
    const reusing = Object.assign(Object.create(peer) as TeapPeer, {
      receive: async (eap: Uint8Array) => {
        scratch.set(eap);
        const answer = await peer.receive(scratch.subarray(0, eap.length));
        scratch.fill(0x5a);
        return answer;
      },
    });
    const r = await runTeapOverRadius(reusing, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com', framedMtu: 600 });
    expect(r.outcome).toBe('accept');
    expect(r.mppeMatches).toBe(true);
  });

  test('library: wrong password ends in Access-Reject', async () => {
    const peer = new TeapPeer({ outerIdentity: 'anonymous@example.com', user: { identity: 'alice', password: WRONG_PASSWORD }, tls: { ca: readFileSync(join(s.dir, 'ca.pem')), servername: 'radius.test.example' } });
    const r = await runTeapOverRadius(peer, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com' });
    expect(r.outcome).toBe('reject');
    expect(r.mppeMatches).toBe(false);
  });

  test('CLI: gangway teap-peer --json', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await teapPeerCli(
      ['--server', `127.0.0.1:${s.port}`, '--secret', SECRET, '--ca', join(s.dir, 'ca.pem'), '--server-name', 'radius.test.example', '--user', 'alice', '--password', ALICE_PASSWORD, '--json', '--show-keys'],
      { stdout: (x) => void out.push(x), stderr: (x) => void err.push(x) },
    );
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out.join('')) as Record<string, unknown>;
    expect(report).toMatchObject({ outcome: 'accept', ok: true, mppeKeysMatch: true, mschapv2ImskOrder: 'hostapd-2.10', tls: 'TLSv1.2' });
    expect(String(report.msk)).toMatch(/^[0-9a-f]{128}$/);
  });

  test('CLI: usage and rejection exit codes', async () => {
    const io = { stdout: () => undefined, stderr: () => undefined };
    expect(await teapPeerCli([], io)).toBe(2);
    expect(await teapPeerCli(['--server', 'nope', '--secret', 'x', '--ca', 'x', '--server-name', 'x'], io)).toBe(2);
    const code = await teapPeerCli(['--server', `127.0.0.1:${s.port}`, '--secret', SECRET, '--ca', join(s.dir, 'ca.pem'), '--server-name', 'radius.test.example', '--user', 'alice', '--password', WRONG_PASSWORD], io);
    expect(code).toBe(1);
  });
});
