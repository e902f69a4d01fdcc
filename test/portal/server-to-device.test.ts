/**
 * The server-to-device direction of EAP-NOOB in the portal (issue 11 point 1): the device shows
 * only its PeerId, the signed-in person makes a code for it, the device reads the code, and its
 * Completion Exchange registers it to that person.
 */
import { PEOPLE, PortalClient, startPortalHarness, TestDevice, type PortalHarness } from './harness.js';

describe('portal: a code for a device that reads one (server-to-peer OOB)', () => {
  let h: PortalHarness;
  beforeAll(async () => {
    h = await startPortalHarness();
  }, 30_000);
  afterAll(() => h.close());

  test('alice makes a code for the waiting device; it reads it, completes, and is hers', async () => {
    const device = new TestDevice(h, { Make: 'Acme', Type: 'reader' }, '02-00-5e-00-53-21', 2);
    expect((await device.connect()).state.state).toBe(1);
    const waiting = (await h.noobStore.list({ limit: 100 })).find((r) => r.state === 1 && r.ephemeral && (r.ephemeral.dirp & 2) !== 0);
    expect(waiting).toBeDefined();
    const peerId = waiting!.peerId;

    const alice = new PortalClient(h.portalUrl);
    expect((await alice.login('alice', PEOPLE.alice)).status).toBe(303);
    const add = await alice.get('/devices/add');
    expect(add.body).toContain('action="/devices/issue"');
    expect((await alice.post('/devices/issue', { peerId })).status).toBe(403);
    const issued = await alice.post('/devices/issue', { csrf: PortalClient.csrfOf(add), peerId });
    expect(issued.status).toBe(200);
    expect(issued.body).toContain('class="qr"');
    const code = /<p class="mono" id="issued-code">([^<]+)<\/p>/.exec(issued.body)![1]!.replace(/&amp;/g, '&');
    expect(code).toMatch(/[?&]P=.*&N=.*&H=/);
    expect((await h.audit.recent(50)).some((e) => e.event === 'noob.oob.issued' && e.subject === peerId)).toBe(true);

    expect(await device.readCode(code)).toBe(true);
    const done = await device.connect();
    expect(done.result).toBe('success');
    expect(await h.noobStore.get(peerId)).toMatchObject({ state: 4, account: 'alice' });
    expect((await alice.get('/devices')).body).toContain(peerId);
  }, 30_000);

  test('refusals: an unknown ID is 404, a device bound to alice cannot get a code from bob (403)', async () => {
    const bob = new PortalClient(h.portalUrl);
    expect((await bob.login('bob', PEOPLE.bob)).status).toBe(303);
    const page = await bob.get('/devices/add');
    const unknown = await bob.post('/devices/issue', { csrf: PortalClient.csrfOf(page), peerId: 'NO-SUCH-PEER' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('No device with this ID is waiting');

    const device = new TestDevice(h, { Make: 'Acme', Type: 'reader' }, '02-00-5e-00-53-22', 2);
    await device.connect();
    const peerId = (await h.noobStore.list({ limit: 100 })).find((r) => r.state === 1 && !r.account && r.ephemeral && (r.ephemeral.dirp & 2) !== 0)!.peerId;
    const alice = new PortalClient(h.portalUrl);
    await alice.login('alice', PEOPLE.alice);
    const a = await alice.get('/devices/add');
    expect((await alice.post('/devices/issue', { csrf: PortalClient.csrfOf(a), peerId })).status).toBe(200);
    const code = /id="issued-code">([^<]+)</.exec((await alice.post('/devices/issue', { csrf: PortalClient.csrfOf(a), peerId })).body)![1]!.replace(/&amp;/g, '&');
    expect(await device.readCode(code)).toBe(true);
    expect((await device.connect()).result).toBe('success');
    const again = await bob.post('/devices/issue', { csrf: PortalClient.csrfOf(page), peerId });
    expect([403, 409]).toContain(again.status);
  }, 30_000);
});
