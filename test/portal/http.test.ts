/**
 * The portal as scripts and attackers meet it, over real HTTPS: CSRF, lockout, escaping, one
 * person's devices hidden from another, bad OOB input, and the QR-code URL opening the portal.
 */
import { PEOPLE, PortalClient, startPortalHarness, TestDevice, type PortalHarness } from './harness.js';

describe('portal over HTTPS: security and device registration', () => {
  let h: PortalHarness;
  beforeAll(async () => {
    h = await startPortalHarness();
  }, 30_000);
  afterAll(() => h.close());

  const events = async (name: string) => (await h.audit.recent(500)).filter((e) => e.event === name);

  test('every response carries the strict CSP; static files are ours, jsQR included', async () => {
    const c = new PortalClient(h.portalUrl);
    const page = await c.get('/login');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).not.toMatch(/<script>|<style>| on[a-z]+=|style="/);
    const jsqr = await c.get('/static/jsqr.js');
    expect(jsqr.status).toBe(200);
    expect(jsqr.body).toContain('jsQR');
    expect((await c.get('/static/../package.json')).status).toBe(404);
  });

  test('a state-changing request without the CSRF token is refused with 403 and audited', async () => {
    const c = new PortalClient(h.portalUrl);
    // Login form without its token (cookie present, field missing).
    await c.get('/login');
    expect((await c.post('/login', { user: 'alice', password: PEOPLE.alice })).status).toBe(403);
    expect((await c.login('alice', PEOPLE.alice)).status).toBe(303);
    const before = await h.noobStore.list({ limit: 100 });
    const res = await c.post('/devices/add', { url: 'https://x/noob?P=a&N=b&H=c' });
    expect(res.status).toBe(403);
    expect((await c.post('/devices/add', { url: 'x', csrf: 'forged-token' })).status).toBe(403);
    expect((await c.post('/logout', {})).status).toBe(403);
    expect(await h.noobStore.list({ limit: 100 })).toEqual(before);
    // Audited once per client address and minute: anyone can send these as fast as they like.
    expect(await events('portal.csrf.rejected')).toHaveLength(1);
    // Still logged in: the refused logout did nothing.
    expect((await c.get('/devices')).status).toBe(200);
  });

  test('repeated wrong passwords lock the account, even against the right password, with audit entries', async () => {
    const c = new PortalClient(h.portalUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await c.login('carol', 'wrong-password')).status);
    expect(statuses).toEqual([401, 401, 423]);
    const locked = await c.login('carol', PEOPLE.carol);
    expect(locked.status).toBe(423);
    expect(locked.body).toContain('locked');
    expect(c.cookies.has('gangway_session')).toBe(false);
    expect((await events('portal.login.lockout')).map((e) => e.subject)).toContain('carol');
    expect((await events('portal.login.failed')).filter((e) => e.subject === 'carol').map((e) => e.detail?.reason)).toEqual(['locked', 'wrong-password', 'wrong-password', 'wrong-password']);
    // An administrator's password reset unlocks it.
    const admin = new PortalClient(h.portalUrl);
    expect((await admin.login(h.admin.name, h.admin.password)).status).toBe(303);
    const users = await admin.get('/admin/users');
    expect(users.body).toMatch(/data-user="carol">\s*<td>carol<\/td>\s*<td>enabled · locked/);
    const reset = await admin.post('/admin/users/reset-password', { csrf: PortalClient.csrfOf(users), user: 'carol' });
    const pw = /New portal password for carol \(shown once\): ([A-Za-z0-9_-]+)/.exec(reset.body)![1]!;
    expect((await new PortalClient(h.portalUrl).login('carol', pw)).status).toBe(303);
  }, 30_000);

  test('a device named <script> is shown escaped; another person can neither see nor remove it', async () => {
    const device = new TestDevice(h, { Make: '<script>alert(1)</script>', Type: 'sensor', Serial: 'XSS-1' }, '02-00-5e-00-53-77');
    expect((await device.connect()).state.state).toBe(1);
    const qr = await device.qrText();
    const peerId = new URL(qr).searchParams.get('P')!;

    const alice = new PortalClient(h.portalUrl);
    await alice.login('alice', PEOPLE.alice);
    const add = await alice.get('/devices/add');
    const added = await alice.post('/devices/add', { csrf: PortalClient.csrfOf(add), url: qr });
    expect(added.status).toBe(303);
    expect(added.headers.location).toBe('/devices?m=added');
    const list = await alice.get('/devices');
    expect(list.body).toContain(`data-peer-id="${peerId}"`);
    expect(list.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(list.body).not.toContain('<script>alert');

    const bob = new PortalClient(h.portalUrl);
    const mallory = await bob.login('bob', PEOPLE.bob);
    if (mallory.status !== 303) throw new Error(`bob cannot log in: ${mallory.status}`);
    const bobs = await bob.get('/devices');
    expect(bobs.body).not.toContain(peerId);
    const removal = await bob.post('/devices/remove', { csrf: PortalClient.csrfOf(bobs), peerId });
    expect(removal.status).toBe(404);
    expect((await h.noobStore.get(peerId))?.account).toBe('alice');
    expect((await bob.get('/admin/devices')).status).toBe(403);
    expect((await bob.get('/admin/audit')).status).toBe(403);
  }, 30_000);

  test("a QR link with someone else's PeerId shows nothing of their device: the page an unknown PeerId gets", async () => {
    const device = new TestDevice(h, { Make: 'Acme', Type: 'insulin pump', Serial: 'ALICE-SECRET-42' }, '02-00-5e-00-53-04');
    await device.connect();
    const qr = new URL(await device.qrText());
    const peerId = qr.searchParams.get('P')!;
    const junk = 'AAAAAAAAAAAAAAAAAAAAAA';
    const alice = new PortalClient(h.portalUrl);
    await alice.login('alice', PEOPLE.alice);
    // Before anyone registered it, whoever has its code may see what it says it is.
    expect((await alice.get(`/noob?P=${peerId}&N=${junk}&H=${junk}`)).body).toContain('ALICE-SECRET-42');
    expect((await alice.post('/devices/add', { csrf: PortalClient.csrfOf(await alice.get('/devices/add')), url: qr.toString() })).status).toBe(303);
    expect((await alice.get(`/noob?P=${peerId}&N=${junk}&H=${junk}`)).body).toContain('ALICE-SECRET-42');

    const bob = new PortalClient(h.portalUrl);
    await bob.login('bob', PEOPLE.bob);
    const others = await bob.get(`/noob?P=${peerId}&N=${junk}&H=${junk}`);
    const unknown = await bob.get(`/noob?P=NoSuchPeerNoSuchPeer1&N=${junk}&H=${junk}`);
    expect(others.body).not.toMatch(/ALICE-SECRET|insulin|Acme|Device says/);
    expect(others.status).toBe(unknown.status);
    // The same page but for the PeerId and the URL it carries back.
    const strip = (body: string, p: string) => body.split(p).join('PEER').replace(/name="csrf" value="[^"]+"/, '');
    expect(strip(others.body, peerId)).toBe(strip(unknown.body, 'NoSuchPeerNoSuchPeer1'));

    // Confirming with a junk code answers as for an unknown PeerId too: what became of someone
    // else's device is said before any check of the code. FAILS at 369bfd1 (a review): 409 "already
    // received its code" against 404. Its owner still hears why.
    const confirm = async (client: PortalClient, p: string) => {
      const page = await client.get(`/noob?P=${p}&N=${junk}&H=${junk}`);
      return client.post('/noob', { csrf: PortalClient.csrfOf(page), url: `?P=${p}&N=${junk}&H=${junk}` });
    };
    const othersPost = await confirm(bob, peerId);
    const unknownPost = await confirm(bob, 'NoSuchPeerNoSuchPeer1');
    expect(othersPost.status).toBe(404);
    expect(othersPost.status).toBe(unknownPost.status);
    expect(strip(othersPost.body, peerId)).toBe(strip(unknownPost.body, 'NoSuchPeerNoSuchPeer1'));
    expect((await confirm(alice, peerId)).status).toBe(409);
  }, 30_000);

  test('junk, foreign and forged codes: a clear message, a 4xx, an audit entry, nothing registered', async () => {
    const device = new TestDevice(h, { Make: 'Acme', Type: 'lamp' }, '02-00-5e-00-53-02');
    await device.connect();
    const qr = await device.qrText();
    const peerId = new URL(qr).searchParams.get('P')!;
    const c = new PortalClient(h.portalUrl);
    await c.login('alice', PEOPLE.alice);
    const csrf = PortalClient.csrfOf(await c.get('/devices/add'));
    const junk = await c.post('/devices/add', { csrf, url: 'https://example.com/hello' });
    expect(junk.status).toBe(400);
    expect(junk.body).toContain('not a device registration code');
    const forged = await c.post('/devices/add', { csrf, url: qr.replace(/H=[^&]+/, 'H=AAAAAAAAAAAAAAAAAAAAAA') });
    expect(forged.status).toBe(422);
    expect(forged.body).toContain('does not match');
    const unknown = await c.post('/devices/add', { csrf, url: qr.replace(/P=[^&]+/, 'P=NoSuchPeerNoSuchPeer1') });
    expect(unknown.status).toBe(404);
    expect((await h.noobStore.get(peerId))).toMatchObject({ state: 1 });
    expect((await h.noobStore.get(peerId))?.account).toBeUndefined();
    expect((await events('noob.oob.refused')).map((e) => e.detail?.reason)).toEqual(expect.arrayContaining(['malformed', 'hoob-mismatch', 'unknown-peer']));
    // The genuine code still works once; a second scan is refused.
    expect((await c.post('/devices/add', { csrf, url: qr })).status).toBe(303);
    const again = await c.post('/devices/add', { csrf, url: qr });
    expect(again.status).toBe(409);
  }, 30_000);

  test('the QR code URL opens the portal: login first, then a confirmation, then registration', async () => {
    const device = new TestDevice(h, { Make: 'Acme', Type: 'camera' }, '02-00-5e-00-53-03');
    await device.connect();
    const qr = new URL(await device.qrText());
    const c = new PortalClient(h.portalUrl);
    const first = await c.get(`/noob${qr.search}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe(`/login?next=${encodeURIComponent(`/noob${qr.search}`)}`);
    const login = await c.get(first.headers.location as string);
    const next = /name="next" value="([^"]+)"/.exec(login.body)![1]!.replace(/&amp;/g, '&');
    expect(next).toBe(`/noob${qr.search}`);
    const signed = await c.post('/login', { csrf: PortalClient.csrfOf(login), user: 'bob', password: PEOPLE.bob, next });
    expect(signed.status).toBe(303);
    expect(signed.headers.location).toBe(`/noob${qr.search}`);
    const back = await c.get(signed.headers.location as string);
    expect(back.status).toBe(200);
    expect(back.body).toContain('Register this device?');
    expect(back.body).toContain('Acme camera');
    // GET registered nothing.
    expect((await h.noobStore.get(qr.searchParams.get('P')!))?.state).toBe(1);
    const done = await c.post('/noob', { csrf: PortalClient.csrfOf(back), url: /name="url" value="([^"]+)"/.exec(back.body)![1]!.replace(/&amp;/g, '&') });
    expect(done.status).toBe(303);
    expect(await h.noobStore.get(qr.searchParams.get('P')!)).toMatchObject({ state: 2, account: 'bob' });
    expect((await device.connect())).toMatchObject({ result: 'success', exchange: 'completion' });
  }, 30_000);
});
