/**
 * The portal in a real browser (Debian's Chromium, headless, driven by playwright-core), at a
 * phone-sized viewport: log in, add a device by showing its QR code to Chromium's fake camera,
 * the device completes and gets Access-Accept, removal disconnects it (RFC 5176) and its next
 * Reconnect is rejected. Screenshots go to docs/portal/ when GANGWAY_PORTAL_SCREENSHOTS=1,
 * otherwise to a temporary directory.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { getStringAttribute } from '../../src/radius/attributes.js';
import { AttributeType } from '../../src/radius/dictionary.js';
import { createPledgeCsr } from '../../src/peer/brski/csr.js';
import { RegistrarCa } from '../../src/pki/ca/registrar-ca.js';
import { roguePki } from '../helpers/pki.js';
import { projectRoot } from '../helpers/proc.js';
import { requireTool } from '../helpers/require-tool.js';
import { qrCodeY4m } from '../helpers/y4m.js';
import { PEOPLE, startPortalHarness, TestDevice, type PortalHarness } from './harness.js';

const CHROMIUM = requireTool('chromium', '/usr/bin/chromium');
const PHONE = { width: 390, height: 844 };

(CHROMIUM ? describe : describe.skip)('portal in Chromium: scan, register, complete, remove, disconnect', () => {
  let h: PortalHarness;
  let work: string;
  let shots: string;
  const browsers: Browser[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gangway-portal-browser-'));
    // A TEAP-BRSKI registrar (for the administrator's BRSKI pages) and alice's VLAN.
    const maker = join(work, 'acme-ca.pem');
    writeFileSync(maker, (await roguePki()).ca.certPem);
    h = await startPortalHarness({
      configure: (doc) => {
        doc.brski = { manufacturers: [{ name: 'acme', ca: maker, approval: 'admin' }] };
        doc.authorization = { users: { alice: { vlan: 20 } }, devices: { brski: { vlan: 30 } } };
      },
    });
    shots = process.env.GANGWAY_PORTAL_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'portal') : join(work, 'shots');
    mkdirSync(shots, { recursive: true });
  }, 30_000);

  afterAll(async () => {
    for (const b of browsers) await b.close();
    await h.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A browser whose camera shows `y4m`; each launch has its own fake camera file. */
  async function phone(y4m?: Buffer): Promise<Page> {
    const args = ['--no-sandbox', '--disable-background-networking', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
    if (y4m) {
      const file = join(work, `camera-${browsers.length}.y4m`);
      writeFileSync(file, y4m);
      args.push(`--use-file-for-fake-video-capture=${file}`);
    }
    const browser = await chromium.launch({ executablePath: CHROMIUM!, headless: true, args });
    browsers.push(browser);
    const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true, ignoreHTTPSErrors: true });
    await context.grantPermissions(['camera'], { origin: h.portalUrl });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });
    page.on('dialog', (d) => {
      // Only our removal confirmation may open a dialog; an alert would mean injected script ran.
      if (d.type() !== 'confirm') errors.push(`unexpected ${d.type()} dialog: ${d.message()}`);
      void d.accept();
    });
    (page as Page & { errors: string[] }).errors = errors;
    return page;
  }

  const errorsOf = (p: Page) => (p as Page & { errors: string[] }).errors;

  async function shot(page: Page, name: string): Promise<void> {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    expect(statSync(path).size).toBeGreaterThan(5000);
  }

  async function login(page: Page, user: string, password: string): Promise<void> {
    await page.goto(`${h.portalUrl}/login`);
    await page.fill('#user', user);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(/\/devices/), page.click('button[type=submit]')]);
  }

  test('log in, scan the device’s QR code, the device completes; remove it: Disconnect-Request, Reconnect rejected', async () => {
    const device = new TestDevice(h, { Make: 'Acme', Type: 'Thermostat', Serial: 'T-1000' }, '02-00-5e-00-53-10');
    const initial = await device.connect();
    expect(initial).toMatchObject({ result: 'failure', exchange: 'initial' });
    const qr = await device.qrText();
    const peerId = new URL(qr).searchParams.get('P')!;

    const page = await phone(qrCodeY4m(qr));
    await page.goto(`${h.portalUrl}/login`);
    await page.fill('#user', 'alice');
    await shot(page, '1-login');
    await page.fill('#password', PEOPLE.alice);
    await Promise.all([page.waitForURL(/\/devices$/), page.click('button[type=submit]')]);
    await expect(page.locator('main').textContent()).resolves.toContain('No devices yet');

    await page.goto(`${h.portalUrl}/devices/add`);
    await shot(page, '2-add-device');
    // Camera on: frames from the Y4M go through jsQR; the form submits itself.
    await Promise.all([page.waitForURL(/\/devices\?m=added$/, { timeout: 20_000 }), page.click('#scan-start')]);
    const item = page.locator(`li[data-peer-id="${peerId}"]`);
    await expect(item.textContent()).resolves.toContain('Acme Thermostat T-1000');
    await expect(item.textContent()).resolves.toContain('code received');
    await shot(page, '3-device-added');
    expect(await h.noobStore.get(peerId)).toMatchObject({ state: 2, account: 'alice' });

    // The device's next connection: Completion Exchange, Access-Accept with keys matching its MSK.
    const completion = await device.connect();
    expect(completion).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    expect(h.gangway.log.lines.some((l) => l.msg === 'Access-Accept' && (l.obj as { identity?: string }).identity === peerId && (l.obj as { account?: string }).account === 'alice')).toBe(true);
    // Alice's VLAN (authorization.users.alice) went to the NAS with the Accept, and the page says so.
    expect(h.gangway.log.lines.some((l) => l.msg === 'Access-Accept' && (l.obj as { identity?: string }).identity === peerId && (l.obj as { vlan?: number }).vlan === 20)).toBe(true);
    expect(await device.connect()).toMatchObject({ result: 'success', exchange: 'reconnect' });
    const accepted = await h.gangway.running.stores.accessSessions.get(peerId);
    expect(accepted).toMatchObject({ callingStationId: '02-00-5e-00-53-10', nasIdentifier: 'test-ap', clientAddress: '127.0.0.1' });

    await page.reload();
    await expect(item.textContent()).resolves.toContain('registered');
    await expect(item.locator('.vlan').textContent()).resolves.toMatch(/VLAN\s*20/);
    await shot(page, '4-device-registered');

    // Remove: the confirm dialog is accepted; the NAS gets a Disconnect-Request for the session.
    await Promise.all([page.waitForURL(/\/devices\?m=removed-connected$/), item.locator('button.danger').click()]);
    await expect(page.locator('main').textContent()).resolves.toContain('disconnected');
    await shot(page, '5-device-removed');
    const [disconnect] = await h.das.waitFor(1);
    expect(disconnect!.messageAuthenticator).toBe('valid');
    expect(getStringAttribute(disconnect!.packet, AttributeType.UserName)).toBe(peerId);
    expect(getStringAttribute(disconnect!.packet, AttributeType.CallingStationId)).toBe('02-00-5e-00-53-10');
    expect(await h.noobStore.get(peerId)).toBeUndefined();
    // An Accept that crossed the removal (its last store check just before it) records its session
    // after the first look; the second look, two seconds on, ends it as well, on the record.
    await h.gangway.running.stores.accessSessions.record({ ...accepted!, acceptedAt: new Date() });
    const [, late] = await h.das.waitFor(2, 10_000);
    expect(getStringAttribute(late!.packet, AttributeType.UserName)).toBe(peerId);
    const lateAudit = async () => (await h.gangway.running.stores.audit.recent(200)).find((e) => e.event === 'radius.disconnect' && (e.detail as { late?: boolean }).late === true);
    for (let i = 0; i < 100 && !(await lateAudit()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await lateAudit()).toMatchObject({ subject: peerId, detail: { late: true, by: 'alice', kind: 'ack' } });

    const after = await device.connect();
    expect(after.result).toBe('failure');
    expect(after.exchange).toBe('reconnect');
    expect(errorsOf(page)).toEqual([]);
  }, 120_000);

  test('the QR code opened by a phone camera: login, confirm, registered; a <script> name stays text', async () => {
    const device = new TestDevice(h, { Make: '<script>alert(1)</script>', Type: '<img src=x onerror=alert(2)>' }, '02-00-5e-00-53-11');
    await device.connect();
    const qr = new URL(await device.qrText());
    const page = await phone();
    // The camera app opens https://PORTAL/noob?P=…&N=…&H=… directly.
    await page.goto(`${h.portalUrl}/noob${qr.search}`);
    await page.waitForURL(/\/login\?next=/);
    await page.fill('#user', 'bob');
    await page.fill('#password', PEOPLE.bob);
    await Promise.all([page.waitForURL(/\/noob\?P=/), page.click('button[type=submit]')]);
    await expect(page.locator('main').textContent()).resolves.toContain('<script>alert(1)</script>');
    await shot(page, '6-confirm-from-qr-link');
    await Promise.all([page.waitForURL(/\/devices\?m=added$/), page.click('main button[type=submit]')]);
    await expect(page.locator('#device-list').textContent()).resolves.toContain('<img src=x onerror=alert(2)>');
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(await device.connect()).toMatchObject({ result: 'success', exchange: 'completion' });
    expect(errorsOf(page)).toEqual([]);

    // Alice does not see Bob's device.
    const alice = await phone();
    await login(alice, 'alice', PEOPLE.alice);
    await expect(alice.locator('main').textContent()).resolves.not.toContain(qr.searchParams.get('P')!);
  }, 120_000);

  test('administrator pages: users, all devices, audit log', async () => {
    const page = await phone();
    await login(page, h.admin.name, h.admin.password);
    await page.goto(`${h.portalUrl}/admin/users`);
    await page.fill('#new-user', 'dave');
    await page.click('form[action="/admin/users/create"] button[type=submit]');
    await expect(page.locator('.flash').textContent()).resolves.toMatch(/Created dave\. Portal password \(shown once\): [A-Za-z0-9_-]{20}/);
    await shot(page, '7-admin-users');
    await page.goto(`${h.portalUrl}/admin/devices`);
    await expect(page.locator('#device-list').textContent()).resolves.toContain('Owner: bob');
    await shot(page, '8-admin-devices');
    await page.goto(`${h.portalUrl}/admin/audit`);
    const audit = await page.locator('tbody').textContent();
    for (const event of ['portal.login', 'noob.oob.delivered', 'portal.device.removed', 'radius.disconnect', 'portal.user.created']) expect(audit).toContain(event);
    await shot(page, '9-admin-audit');
    expect(errorsOf(page)).toEqual([]);
  }, 120_000);

  test('administrator pages for TEAP-BRSKI: approve a pledge, revoke an issued certificate', async () => {
    const devices = h.gangway.running.stores.brskiDevices;
    await devices.seen('acme', 'JADA-0002', new Date());
    await devices.seen('acme', 'JADA-0003', new Date());
    await devices.decide('acme', 'JADA-0001', 'approved', h.admin.name, new Date());
    const issued = h.gangway.running.stores.issuedCertificates;
    const ca = await RegistrarCa.open({ directory: join(h.gangway.init.dataDir, 'pki'), store: issued, audit: h.audit });
    const csr = await createPledgeCsr({ request: { challengePassword: false, ignored: [] } });
    const ldevid = await ca.issueLdevid({ csrDer: csr.der, deviceId: 'acme:JADA-0001' });
    await devices.setLdevid('acme', 'JADA-0001', ldevid.serial);

    const page = await phone();
    await login(page, h.admin.name, h.admin.password);
    await page.goto(`${h.portalUrl}/admin/brski`);
    await expect(page.locator('#pending-list').textContent()).resolves.toContain('JADA-0002');
    await shot(page, '10-admin-brski');
    await Promise.all([page.waitForURL(/\/admin\/brski\?m=approved$/), page.locator('#pending-list li[data-device="acme:JADA-0002"] button[type=submit]', { hasText: 'Approve' }).click()]);
    await expect(page.locator('.flash').textContent()).resolves.toContain('Device approved');
    expect((await devices.get('acme', 'JADA-0002'))?.status).toBe('approved');

    await page.goto(`${h.portalUrl}/admin/certificates`);
    const row = page.locator(`tr[data-serial="${ldevid.serial}"]`);
    await expect(row.textContent()).resolves.toContain('acme:JADA-0001');
    await shot(page, '11-admin-certificates');
    await row.locator('select[name=reason]').selectOption('cessationOfOperation');
    // The confirmation dialog is accepted by phone(); the device never connected, so nothing to disconnect.
    await Promise.all([page.waitForURL(/\/admin\/certificates\?m=revoked$/), row.locator('button.danger').click()]);
    await expect(row.textContent()).resolves.toContain('cessationOfOperation');
    expect((await issued.get(ldevid.serial))?.revocationReason).toBe('cessationOfOperation');
    expect(errorsOf(page)).toEqual([]);
  }, 120_000);
});
