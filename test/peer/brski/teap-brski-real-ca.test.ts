import { X509Certificate } from 'node:crypto';
import { createTeapPledge } from '../../../src/peer/brski/teap-pledge.js';
import { MemoryLog } from '../../helpers/silent-log.js';
import { converse, methodContext } from '../../teap-brski/helpers.js';
import { caFixture, type CaFixture } from '../../pki/ca/helpers.js';
import { brskiWorld, flipLastByte } from './brski-world.js';

/**
 * The pledge and the registrar TLV method with our own registrar CA (src/pki/ca): the LDevID is
 * named by policy, and the CA checks that the CSR's challengePassword is this tunnel's channel
 * binding (tls-unique under TLS 1.2, tls-exporter under TLS 1.3).
 */
let fx: CaFixture;
beforeEach(async () => {
  fx = await caFixture();
});
afterEach(() => fx.cleanup());

describe('TEAP-BRSKI with the registrar CA', () => {
  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: LDevID from our CA, challengePassword checked, recorded and audited', async (maxVersion) => {
    const world = await brskiWorld({ maxVersion, realCa: fx.ca });
    const { peer, pledge } = createTeapPledge({ credentials: world.credentials, maxVersion, log: new MemoryLog() });
    const c = await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid'));
    expect(c.server.kind).toBe('success');
    if (c.server.kind === 'success') expect(c.server.grant).toMatchObject({ identity: 'acme:JADA-0001', deviceId: 'acme:JADA-0001' });
    const ldevid = new X509Certificate(pledge.enrollment!.ldevid);
    expect(ldevid.subject).toContain('CN=acme:JADA-0001');
    expect(ldevid.verify(new X509Certificate(fx.ca.certificateDer).publicKey)).toBe(true);
    const records = await fx.store.listByDevice('acme:JADA-0001');
    expect(records).toHaveLength(1);
    expect((await fx.audit.recent(10)).some((e) => e.event === 'ca.ldevid.issued')).toBe(true);
  });

  test('a tampered voucher: the pledge refuses, the registrar audits it, and the CA issues nothing', async () => {
    const world = await brskiWorld({ realCa: fx.ca });
    world.masa.tamper = flipLastByte;
    const { peer } = createTeapPledge({ credentials: world.credentials, maxVersion: 'TLSv1.2', log: new MemoryLog() });
    const c = await converse(world.method, peer, methodContext(new MemoryLog(), 1020, 'teap-bootstrap@brski.invalid'));
    expect(c.server.kind).toBe('failure');
    expect(world.audit.entries.some((e) => e.event === 'brski.pledge-refused' && JSON.stringify(e.detail).includes('2903'))).toBe(true);
    expect(await fx.store.listByDevice('acme:JADA-0001')).toHaveLength(0);
  });
});
