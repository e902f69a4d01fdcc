/**
 * The portal's command-line side, run as a person runs it (built dist/): `gangway init` writes the
 * portal section, points EAP-NOOB's oobUrl at the portal's /noob page and prints the first
 * administrator's password once; `gangway users add --admin / --portal-password` makes logins.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { verifyPassword } from '../../src/store/users.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('gangway init and users for the portal', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gangway-portal-cli-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function portalLogin(name: string): { password_hash: string; admin: number } | undefined {
    const db = new Database(join(dir, 'gangway.db'), { readonly: true });
    try {
      return db.prepare('SELECT password_hash, admin FROM portal_accounts WHERE user_name = ?').get(name) as { password_hash: string; admin: number } | undefined;
    } finally {
      db.close();
    }
  }

  test('init: portal section, oobUrl at the portal, an administrator whose password is printed once and stored hashed', async () => {
    const r = run(['init', dir, '--server-name', 'onboard.example.org', '--portal-port', '9443']);
    expect(r.status).toBe(0);
    const m = /portal administrator "admin", password ([A-Za-z0-9_-]{20})/.exec(r.stdout);
    expect(m).not.toBeNull();
    const doc = parse(readFileSync(join(dir, 'gangway.yaml'), 'utf8')) as { portal: unknown; methods: { 'eap-noob': { oobUrl: string } } };
    expect(doc.portal).toEqual({ listen: '127.0.0.1:9443', publicUrl: 'https://onboard.example.org:9443', tls: true });
    expect(doc.methods['eap-noob'].oobUrl).toBe('https://onboard.example.org:9443/noob');
    const row = portalLogin('admin')!;
    expect(row.admin).toBe(1);
    expect(row.password_hash).not.toContain(m![1]!);
    expect(await verifyPassword(m![1]!, row.password_hash)).toBe(true);
    expect(readFileSync(join(dir, 'gangway.yaml'), 'utf8')).not.toContain(m![1]!);
  });

  test('users add: --portal-password and --admin make portal logins separate from the network password', async () => {
    expect(run(['init', dir, '--portal-port', '0']).status).toBe(0);
    const a = run(['users', 'add', 'erin', '--data', dir, '--password', 'erin-wifi-pass', '--portal-password', 'erin-portal-pass']);
    expect(a.status).toBe(0);
    expect(a.stdout).not.toContain('erin-portal-pass');
    const erin = portalLogin('erin')!;
    expect(erin.admin).toBe(0);
    expect(await verifyPassword('erin-portal-pass', erin.password_hash)).toBe(true);
    expect(await verifyPassword('erin-wifi-pass', erin.password_hash)).toBe(false);
    const b = run(['users', 'add', 'frank', '--data', dir, '--credentials', 'none', '--admin']);
    expect(b.status).toBe(0);
    expect(b.stdout).toContain('added frank (no network credentials)');
    const pw = /portal login for frank \(administrator\), password ([A-Za-z0-9_-]+) \(shown only now\)/.exec(b.stdout)![1]!;
    expect(await verifyPassword(pw, portalLogin('frank')!.password_hash)).toBe(true);
    expect(portalLogin('frank')!.admin).toBe(1);
  });
});
