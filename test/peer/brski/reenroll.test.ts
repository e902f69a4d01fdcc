import { X509Certificate } from 'node:crypto';
import { createTeapPledge } from '../../../src/peer/brski/teap-pledge.js';
import { createTeapReenroller } from '../../../src/peer/brski/reenroll.js';
import { createTeapMethod } from '../../../src/teap-brski/teap/method.js';
import { Registrar } from '../../../src/teap-brski/brski/registrar.js';
import { createBrskiTlvMethods } from '../../../src/teap-brski/brski/registrar-tlv-method.js';
import { BrskiTlvCodec } from '../../../src/teap-brski/brski/tlvs.js';
import { MemoryBrskiDeviceStore } from '../../../src/store/brski-devices.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { MemoryUserStore, converse, methodContext } from '../../teap-brski/helpers.js';
import { caFixture, type CaFixture } from '../../pki/ca/helpers.js';
import { brskiPki, brskiWorld, TestMasa } from './brski-world.js';

/**
 * Flow C (teap-brski.md §3.4): a device enrolled by TEAP-BRSKI comes back with its LDevID; the policy
 * for our own certificates runs `brski-reenroll`, and the device leaves with a new LDevID for a new key.
 */
let fx: CaFixture;
beforeEach(async () => {
  fx = await caFixture();
});
afterEach(() => fx.cleanup());

test('enrol with the IDevID, then re-enrol with the LDevID: a new certificate for a new key, same device id', async () => {
  const world = await brskiWorld({ realCa: fx.ca });
  const { peer, pledge } = createTeapPledge({ credentials: world.credentials, maxVersion: 'TLSv1.2', log: new MemoryLog() });
  expect((await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid'))).server.kind).toBe('success');
  const first = pledge.enrollment!;

  const pki = await brskiPki();
  const registrar = new Registrar({
    signer: { certificate: pki.registrar.der, privateKey: pki.registrar.key },
    masa: new TestMasa(pki),
    manufacturers: [],
    devices: new MemoryBrskiDeviceStore(),
    ca: fx.ca,
    audit: fx.audit,
    log: new MemoryLog(),
  });
  const method = createTeapMethod({
    tls: { cert: `${pki.registrar.pem}\n${pki.domainCa.pem}`, key: pki.registrar.keyPem, ca: fx.ca.certificatePem },
    users: new MemoryUserStore(),
    innerMethods: [],
    policy: { sequence: [{ methods: ['basic-password'] }] },
    policies: { enrolled: { clientCertificate: 'required', sequence: [{ methods: ['brski-reenroll'] }] } },
    rules: [{ certificate: 'domain', policy: 'enrolled' }],
    tlvMethods: createBrskiTlvMethods({ registrar, tlvs: new BrskiTlvCodec() }),
  });
  const serverLog = new MemoryLog();
  const device = createTeapReenroller({
    credentials: { ldevid: first.ldevid, intermediates: first.intermediates, privateKey: first.privateKey, trustAnchors: [...first.trustAnchors, pki.domainCa.der] },
    outerIdentity: 'acme:JADA-0001',
    log: new MemoryLog(),
  });
  const c = await converse(method, device.peer, methodContext(serverLog, 1020, 'acme:JADA-0001'));
  expect({ kind: c.server.kind, why: c.server.kind === 'failure' ? c.server.reason : '', log: c.server.kind === 'failure' ? serverLog.lines.map((l) => `${l.msg} ${JSON.stringify(l.obj)}`).join('\n') : '' }).toEqual({ kind: 'success', why: '', log: '' });
  if (c.server.kind === 'success') expect(c.server.grant.identity).toBe('acme:JADA-0001');
  const renewed = device.handler()!.result!;
  const a = new X509Certificate(first.ldevid);
  const b = new X509Certificate(renewed.ldevid);
  expect(b.subject).toBe(a.subject);
  expect(b.serialNumber).not.toBe(a.serialNumber);
  expect(b.publicKey.equals(a.publicKey)).toBe(false);
  expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(2);
});
