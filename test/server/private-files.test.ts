/**
 * Secure file defaults (issue 8.6): the data directory is 0700 and the database, its WAL files and
 * every key file 0600, whether `gangway init`, `gangway start` or the server made them; the server
 * refuses to start, naming the file, while group or others can reach any of them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir } from '../../src/cli/init.js';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { startGangway } from '../../src/server.js';
import { freeUdpPort, terminate } from '../helpers/proc.js';
import { MemoryLog } from '../helpers/silent-log.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const mode = (p: string): number => statSync(p).mode & 0o777;

describe('private files', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gangway-perm-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function initAt(dir: string) {
    return initDataDir(dir, { radiusPort: 0, secret: 'permissions-secret', portalPort: 0 });
  }

  test('init after a crashed init replaces what it left (files, never what a link points to) and leaves no temporary file', async () => {
    const dir = join(root, 'crashed');
    mkdirSync(join(dir, 'pki'), { recursive: true, mode: 0o700 });
    // A half-written key from the crashed run, and a name that points elsewhere: the key goes into
    // the data directory, not through the link.
    writeFileSync(join(dir, 'pki', 'ca.key'), '-----BEGIN PRIVATE KEY-----\nMIG', { mode: 0o600 });
    const elsewhere = join(root, 'elsewhere.txt');
    writeFileSync(elsewhere, 'not a key\n');
    symlinkSync(elsewhere, join(dir, 'pki', 'server.key'));
    const init = await initAt(dir);
    expect(readFileSync(elsewhere, 'utf8')).toBe('not a key\n');
    expect(lstatSync(init.files.serverKey).isFile()).toBe(true);
    expect(mode(init.files.serverKey)).toBe(0o600);
    expect(readFileSync(init.files.caKey, 'utf8')).toMatch(/-----END PRIVATE KEY-----\n$/);
    expect(readdirSync(join(dir, 'pki')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  test('init makes a pre-existing world-readable directory 0700 and writes keys, config and database 0600', async () => {
    const dir = join(root, 'existing');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const init = await initAt(dir);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'pki'))).toBe(0o700);
    for (const f of [init.files.caKey, init.files.serverKey, init.files.clientKey, init.config, init.files.database]) expect([f, mode(f)]).toEqual([f, 0o600]);
  });

  test('the server creates a missing database owner-only, WAL and shared memory too', async () => {
    const dir = join(root, 'd');
    const init = await initAt(dir);
    rmSync(init.files.database);
    const running = await startGangway(loadConfig(dir), new MemoryLog());
    try {
      for (const suffix of ['', '-wal', '-shm']) {
        const f = init.files.database + suffix;
        if (suffix === '' || existsSync(f)) expect([f, mode(f)]).toEqual([f, 0o600]);
      }
      expect(existsSync(`${init.files.database}-wal`)).toBe(true);
    } finally {
      await running.close();
    }
  });

  test.each([
    ['the data directory', (d: string) => d, 0o755, '--data', 'chmod 700'],
    ['the database', (d: string) => join(d, 'gangway.db'), 0o644, 'store.sqlite', 'chmod 600'],
    ['the TLS key', (d: string) => join(d, 'pki', 'server.key'), 0o640, 'tls.key', 'chmod 600'],
    ['the demo CA key', (d: string) => join(d, 'pki', 'ca.key'), 0o604, 'pki', 'chmod 600'],
  ])('the server refuses to start while %s is readable by others, naming it', async (_what, pick, bad, key, fix) => {
    const dir = join(root, 'd');
    await initAt(dir);
    const file = pick(dir);
    chmodSync(file, bad);
    const config = loadConfig(dir);
    const err = await startGangway(config, new MemoryLog()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
    expect((err as ConfigError).message).toContain(file);
    expect((err as ConfigError).message).toContain(`mode 0${bad.toString(8)}`);
    expect((err as ConfigError).message).toContain(fix);
  });

  test('gangway serve exits 78 naming the file; under umask 022 init and start create everything owner-only', async () => {
    const dir = join(root, 'served');
    const port = await freeUdpPort();
    expect(spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', 'permissions-secret'], { encoding: 'utf8' }).status).toBe(0);
    chmodSync(join(dir, 'gangway.db'), 0o644);
    const refused = spawnSync(process.execPath, [main, 'serve', '--data', dir], { encoding: 'utf8', timeout: 15_000 });
    expect(refused.status).toBe(78);
    expect(refused.stderr).toContain(`${join(dir, 'gangway.db')} is accessible by group or others (mode 0644)`);
    // Refused before the start-up warm-up spends its seconds.
    expect(refused.stdout).not.toContain('start-up warm-up');

    // Under a permissive umask: init makes a new directory, the database is removed, and start
    // (which would also init a missing directory, on the fixed ports 1812/8443) creates it again.
    const fresh = join(root, 'fresh');
    const freshPort = await freeUdpPort();
    const sh = (cmd: string) => `umask 022 && exec "${process.execPath}" "${main}" ${cmd}`;
    expect(spawnSync('/bin/sh', ['-c', sh(`init "${fresh}" --radius-port ${freshPort} --portal-port 0 --secret permissions-secret`)], { encoding: 'utf8' }).status).toBe(0);
    rmSync(join(fresh, 'gangway.db'));
    const child = spawn('/bin/sh', ['-c', sh(`start --data "${fresh}"`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('gangway listening');
      expect(mode(fresh)).toBe(0o700);
      for (const f of ['gangway.db', 'gangway.db-wal', 'gangway.yaml', 'pki/ca.key', 'pki/server.key', 'pki/client.key']) {
        expect([f, mode(join(fresh, f))]).toEqual([f, 0o600]);
      }
    } finally {
      await terminate(child);
    }
  }, 40_000);
});
