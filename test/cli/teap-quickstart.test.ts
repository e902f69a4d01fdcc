/**
 * The README's TEAP example: a data directory as `gangway init` makes it offers EAP-TLS first and
 * TEAP to peers that ask for it; `gangway users add` and `gangway teap-peer --server localhost:PORT`
 * authenticate. Where TEAP is not offered, the peer says so instead of a bare EAP-Failure.
 */
import { run as teapPeer } from '../../src/cli/commands/teap-peer.js';
import { run as users } from '../../src/cli/commands/users.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) }, text: () => out.join(''), errText: () => err.join('') };
}

const peerArgs = (g: TestGangway, password: string) => [
  '--server', `localhost:${g.port}`, '--secret', g.secret, '--ca', g.init.files.caCert, '--server-name', 'radius.test.example', '--user', 'alice', '--password', password, '--json',
];

describe('TEAP from the quick start', () => {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway();
  });
  afterAll(async () => {
    await g.close();
  });

  test('init offers EAP-TLS, then TEAP; users add + teap-peer authenticate', async () => {
    expect(await users(['add', 'alice', '--data', g.init.dataDir, '--password', 'alice-wifi-password'], collector().io)).toBe(0);
    const ok = collector();
    expect(await teapPeer(peerArgs(g, 'alice-wifi-password'), ok.io)).toBe(0);
    expect(JSON.parse(ok.text())).toMatchObject({ outcome: 'accept', ok: true, mppeKeysMatch: true });
    const bad = collector();
    expect(await teapPeer(peerArgs(g, 'wrong'), bad.io)).toBe(1);
    expect(JSON.parse(bad.text()).reason).toContain('Result=Failure');
  });
});

test('a server that offers no TEAP: the peer names the reason', async () => {
  const g = await startTestGangway({ configure: (doc) => void ((doc.eap as Record<string, unknown>).defaultMethods = ['eap-tls']) });
  try {
    const c = collector();
    expect(await teapPeer(peerArgs(g, 'x'), c.io)).toBe(1);
    expect(JSON.parse(c.text()).reason).toBe('the server does not offer TEAP to "anonymous@radius.test.example": it proposed EAP type 13, we asked for TEAP (Nak), and it answered EAP-Failure');
  } finally {
    await g.close();
  }
});
