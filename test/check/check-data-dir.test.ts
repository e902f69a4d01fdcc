/**
 * `gangway check`: each kind of problem an operator meets is named on its own line with the right
 * status, against a data directory made by `gangway init`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkDataDir } from '../../src/check/check-data-dir.js';
import type { CheckResult } from '../../src/check/result.js';
import { initDataDir, type InitResult } from '../../src/cli/init.js';
import { generateDemoPki } from '../../src/pki/demo-pki.js';
import { issueCrl } from '../../src/pki/crl.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const DAY = 86_400_000;

let dir: string;
let init: InitResult;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gangway-check-'));
  init = await initDataDir(dir, { radiusPort: 0, portalPort: 0 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const failures = (rs: CheckResult[]) => rs.filter((r) => r.status === 'fail');
const find = (rs: CheckResult[], subject: string, status: CheckResult['status']) => rs.filter((r) => r.subject === subject && r.status === status);
function addToConfig(text: string): void {
  const cfg = join(dir, 'gangway.yaml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^tls:\n/m, `tls:\n${text}`));
}

test('a fresh data directory passes every check', async () => {
  const rs = await checkDataDir(dir);
  expect(failures(rs)).toEqual([]);
  for (const subject of ['config', 'permissions', 'tls.ca[0]', 'tls.cert', 'tls.key', 'tls', 'methods.teap', 'methods.eap-noob', 'eap', 'database']) {
    expect(rs.some((r) => r.subject === subject)).toBe(true);
  }
});

test('certificate validity: expiring soon warns, expired fails', async () => {
  const soon = new Date(Date.now() + 810 * DAY);
  expect(find(await checkDataDir(dir, soon), 'tls.cert', 'warn')[0]?.detail).toMatch(/CN=gangway\.local expires in \d+ days/);
  const later = new Date(Date.now() + 900 * DAY);
  expect(find(await checkDataDir(dir, later), 'tls.cert', 'fail')[0]?.detail).toMatch(/CN=gangway\.local expired on/);
});

test('a key that is not the certificate\'s key fails', async () => {
  copyFileSync(init.files.clientKey, init.files.serverKey);
  const rs = await checkDataDir(dir);
  expect(find(rs, 'tls.key', 'fail')[0]?.detail).toContain('is not the key of CN=gangway.local');
  expect(find(rs, 'tls', 'fail')).toHaveLength(1);
});

test('a server certificate from a CA that is not in tls.ca: the chain warning names the issuer', async () => {
  const other = await generateDemoPki('gangway.local');
  writeFileSync(init.files.serverCert, other.server.certPem);
  writeFileSync(init.files.serverKey, other.server.keyPem, { mode: 0o600 });
  const rs = await checkDataDir(dir);
  expect(find(rs, 'tls.cert', 'warn')[0]?.detail).toMatch(/chain ends at CN=Gangway Demo CA .*neither in the file nor in tls\.ca/);
  expect(failures(rs)).toEqual([]);
});

test('CRLs: current ok; expired, foreign or forged fail', async () => {
  const caPem = readFileSync(init.files.caCert, 'utf8');
  const caKey = readFileSync(init.files.caKey, 'utf8');
  writeFileSync(join(dir, 'pki', 'ca.crl'), await issueCrl(caPem, caKey, ['0a'], 7));
  const foreign = await generateDemoPki('elsewhere.example');
  writeFileSync(join(dir, 'pki', 'foreign.crl'), await issueCrl(foreign.ca.certPem, foreign.ca.keyPem, [], 7));
  // The right issuer name, the wrong key: a CRL nobody should believe.
  const forged = await generateDemoPki('x');
  writeFileSync(join(dir, 'pki', 'forged.crl'), await issueCrl(caPem, forged.ca.keyPem, [], 7));
  addToConfig('  crl: [pki/ca.crl]\n');
  let rs = await checkDataDir(dir);
  expect(find(rs, 'tls.crl[0]', 'ok')[0]?.detail).toMatch(/CRL of CN=Gangway Demo CA .*, 1 revoked, next update/);
  rs = await checkDataDir(dir, new Date(Date.now() + 8 * DAY));
  expect(find(rs, 'tls.crl[0]', 'fail')[0]?.detail).toContain('expired at');

  const cfg = join(dir, 'gangway.yaml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('crl: [pki/ca.crl]', 'crl: [pki/foreign.crl, pki/forged.crl]'));
  rs = await checkDataDir(dir);
  expect(find(rs, 'tls.crl[0]', 'fail')[0]?.detail).toContain('its issuer is not among the tls.ca certificates');
  expect(find(rs, 'tls.crl[1]', 'fail')[0]?.detail).toContain('is not signed by that CA\'s key');
});

test('database: schema from a newer Gangway fails; pending migrations are reported', async () => {
  const db = new Database(init.files.database);
  db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01')").run();
  db.prepare('DELETE FROM schema_migrations WHERE version = (SELECT MIN(version) FROM schema_migrations)').run();
  db.close();
  const rs = await checkDataDir(dir);
  expect(find(rs, 'database', 'fail')[0]?.detail).toContain('schema versions this Gangway does not know (999)');
  const db2 = new Database(init.files.database);
  db2.prepare('DELETE FROM schema_migrations WHERE version = 999').run();
  db2.close();
  expect(find(await checkDataDir(dir), 'database', 'ok')[0]?.detail).toMatch(/1 migration\(s\) \(1\) run at the next start/);
});

test('permissions: secrets readable by every user fail; a protecting directory is noted', async () => {
  chmodSync(join(dir, 'gangway.yaml'), 0o644);
  let rs = await checkDataDir(dir);
  expect(find(rs, 'permissions', 'ok').some((r) => r.detail.includes('gangway.yaml mode 644, but its directory lets no one else in'))).toBe(true);
  chmodSync(dir, 0o755);
  rs = await checkDataDir(dir);
  expect(find(rs, 'permissions', 'fail').map((r) => r.detail)).toEqual(expect.arrayContaining([expect.stringContaining('gangway.yaml is accessible to every user (mode 644)')]));
  chmodSync(dir, 0o777);
  rs = await checkDataDir(dir);
  expect(find(rs, 'permissions', 'fail').some((r) => r.detail.includes('is writable by other users (mode 777)'))).toBe(true);
});

test('a configuration error is the one line; an unknown method in a rule fails', async () => {
  const cfg = join(dir, 'gangway.yaml');
  const good = readFileSync(cfg, 'utf8');
  writeFileSync(cfg, `${good}\nbogus: 1\n`);
  expect(await checkDataDir(dir)).toEqual([{ status: 'fail', subject: 'config', detail: `${cfg}: bogus: is not a known setting` }]);
  writeFileSync(cfg, good.replace('defaultMethods:\n    - eap-tls', 'defaultMethods:\n    - eap-tls\n    - eap-ttls'));
  expect(find(await checkDataDir(dir), 'eap.defaultMethods', 'fail')[0]?.detail).toContain('method "eap-ttls" is not available');
});

test('gangway check (built): one line per check, exit 0, or 78 when something fails', () => {
  const good = spawnSync(process.execPath, [main, 'check', '--data', dir], { encoding: 'utf8' });
  expect(good.status).toBe(0);
  expect(good.stdout).toMatch(/^ok {4}config +/m);
  expect(good.stdout).toMatch(/^all \d+ checks passed/m);
  copyFileSync(init.files.clientKey, init.files.serverKey);
  const bad = spawnSync(process.execPath, [main, 'check', '--data', dir], { encoding: 'utf8' });
  expect(bad.status).toBe(78);
  expect(bad.stdout).toMatch(/^FAIL {2}tls\.key +.*is not the key of CN=gangway\.local/m);
  expect(bad.stdout).toMatch(/^2 check\(s\) failed/m);
});
