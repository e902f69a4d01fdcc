/**
 * The BRSKI/EST HTTPS listener's connection caps (src/util/connection-cap.ts) on loopback: idle
 * connections from one address cannot take the registrar's descriptors from other pledges.
 */
import { X509Certificate } from 'node:crypto';
import { HttpsRegistrar } from '../../../src/teap-brski/brski/https-registrar.js';
import { Registrar } from '../../../src/teap-brski/brski/registrar.js';
import { SqliteBrskiDeviceStore } from '../../../src/store/sqlite/brski-devices.js';
import type { ConnectionCaps, ConnectionLimit } from '../../../src/util/connection-cap.js';
import { showPerAddressCap, showTotalCap, type CapTarget } from '../../helpers/connection-caps.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { makeBrskiPki, type BrskiPki } from './voucher/test-pki.js';
import { caFixture, type CaFixture } from '../../pki/ca/helpers.js';

let pki: BrskiPki;
let fx: CaFixture;
let registrar: Registrar;

beforeAll(async () => {
  pki = await makeBrskiPki('CAPS-0001');
  fx = await caFixture();
  registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa: { requestVoucher: async () => ({ kind: 'unavailable', reason: 'not in this test' }) },
    manufacturers: [{ name: 'acme', anchors: [new X509Certificate(pki.manufacturerCa.der)], masaUrl: 'https://masa.test', approval: 'auto' }],
    devices: new SqliteBrskiDeviceStore(fx.db),
    ca: fx.ca,
    audit: fx.audit,
    log: new MemoryLog(),
    enrolmentLimit: { certificates: 3, intervalMs: 3600_000, store: fx.store },
  });
});
afterAll(() => fx.cleanup());

interface Listener {
  target: CapTarget;
  log: MemoryLog;
  refused: ConnectionLimit[];
  server: HttpsRegistrar;
}

async function listen(connections: ConnectionCaps): Promise<Listener> {
  const log = new MemoryLog();
  const refused: ConnectionLimit[] = [];
  const server = new HttpsRegistrar({
    registrar,
    cert: pki.registrar.pem,
    key: pki.registrar.keyPem,
    domainCa: [fx.ca.certificatePem],
    audit: fx.audit,
    log,
    connections,
    onConnectionRefused: (limit) => refused.push(limit),
  });
  const { port } = await server.listen('127.0.0.1', 0);
  // EST cacerts needs no client certificate (RFC 7030 §4.1).
  return { target: { url: `https://127.0.0.1:${port}`, path: '/.well-known/est/cacerts', status: 200 }, log, refused, server };
}

describe('BRSKI/EST over HTTPS: connection caps', () => {
  test('per address: 127.0.0.1 holding its 3, its next connection is closed before the TLS handshake; 127.0.0.2 gets cacerts; one closed frees a place', async () => {
    const l = await listen({ total: 100, perAddress: 3 });
    try {
      await showPerAddressCap(l.target, 3);
      expect(l.refused.slice(0, 2)).toEqual(['address', 'address']);
      expect(l.log.lines.filter((x) => x.level === 'warn')).toEqual([
        { level: 'warn', obj: { listener: 'brski-https', remote: '127.0.0.1', limit: 3 }, msg: 'brski-https: connection refused: too many open from one address' },
      ]);
    } finally {
      await l.server.close();
    }
  });

  test('in total: 5 open from two addresses, a third address is refused, and served once one closes', async () => {
    const l = await listen({ total: 5, perAddress: 3 });
    try {
      await showTotalCap(l.target, { total: 5, perAddress: 3 });
      expect(l.refused.slice(0, 2)).toEqual(['total', 'total']);
      expect(l.log.lines.filter((x) => x.level === 'warn').map((x) => x.obj)).toEqual([{ listener: 'brski-https', remote: '127.0.0.3', limit: 5 }]);
    } finally {
      await l.server.close();
    }
  });
});
