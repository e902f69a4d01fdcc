import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  AttributeType, RadiusClient, RadiusCode, buildAccessRequest, getAttribute, joinEapMessage, splitEapMessage, stringAttribute, verifyResponse,
} from '../../src/radius/index.js';
import { COMMANDS } from '../../src/cli/commands/index.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function statusServer(port: number, secret: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const req = buildAccessRequest({ code: RadiusCode.StatusServer, identifier: 7, attributes: [], secret });
    const timer = setTimeout(() => { sock.close(); resolve(undefined); }, 1500);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(verifyResponse(new Uint8Array(msg), req.authenticator, secret).code);
    });
    sock.send(req.bytes, port, '127.0.0.1');
  });
}

/** The environment a person has: no GANGWAY_DATA unless a test sets it. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (extra.GANGWAY_DATA === undefined) delete e.GANGWAY_DATA;
  return e;
}

function gangway(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20000, env: env(opts.env), ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}

describe('every command explains itself (one definition per command)', () => {
  test.each(COMMANDS.map((c) => [c.spec.name, c] as const))('%s: --help, -h, a bad option', (name, command) => {
    const help = gangway([name, '--help']);
    expect(help.status).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout.startsWith(`usage: gangway ${name}`)).toBe(true);
    for (const option of Object.keys(command.spec.options)) expect(help.stdout).toContain(`--${option}`);
    expect(gangway([name, '-h']).stdout).toBe(help.stdout);
    expect(gangway(['help', name]).stdout).toBe(help.stdout);

    const bad = gangway([name, '--no-such-option']);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain(`gangway ${name}: unknown option --no-such-option`);
    expect(bad.stderr).toContain(`usage: gangway ${name}`);
  });

  test('gangway --version, no command, an unknown command', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    const v = gangway(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toBe(`gangway ${pkg.version}\n`);
    const help = gangway(['--help']);
    expect(help.status).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toContain(`  ${c.spec.name} `);
    const none = gangway([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no command given');
    const unknown = gangway(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('usage: gangway COMMAND');
  });

  test('a value-taking option without its value, and a usage mistake in the arguments, exit 2', () => {
    const r = gangway(['init', '--radius-port']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('option --radius-port needs a value');
    const port = gangway(['init', '/tmp/x', '--radius-port', 'abc']);
    expect(port.status).toBe(2);
    expect(port.stderr).toContain('--radius-port must be an integer from 0 to 65535');
    expect(gangway(['users', 'rename', 'x']).stderr).toContain('unknown subcommand "rename"');
  });
});

describe('one rule for the data directory: --data, else $GANGWAY_DATA, else ./var', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'gangway-cwd-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  test('users add without a data directory refuses, names the path, suggests gangway init, creates nothing', () => {
    const r = gangway(['users', 'add', 'alice', '--password', 'alice-password'], { cwd });
    expect(r.status).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`no Gangway data directory at ${join(cwd, 'var')}`);
    expect(r.stderr).toContain(`gangway init ${join(cwd, 'var')}`);
    for (const args of [['users', 'list'], ['noob-oob', '--list'], ['serve'], ['start', '--data', 'typo'], ['users', 'list', '--data', '/nonexistent/gangway']]) {
      const other = gangway(args, { cwd });
      expect(other.status).toBe(78);
      expect(other.stderr).toMatch(/no Gangway data directory at \//);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('GANGWAY_DATA names the directory; init and users agree on it', () => {
    const data = join(cwd, 'site');
    expect(gangway(['init', '--portal-port', '0'], { cwd, env: { GANGWAY_DATA: data } }).status).toBe(0);
    expect(existsSync(join(data, 'gangway.yaml'))).toBe(true);
    expect(gangway(['users', 'add', 'carol', '--password', 'carol-password'], { cwd, env: { GANGWAY_DATA: data } }).status).toBe(0);
    const list = gangway(['users', 'list', '--data', data]);
    expect(list.stdout).toMatch(/^carol\tenabled\tnt,scrypt\t/m);
    expect(readdirSync(cwd)).toEqual(['site']);
  });
});

describe('gangway CLI (built dist/, as a person runs it)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('init --json prints absolute paths of what it created; keys are private; a second init refuses', () => {
    const r = spawnSync(process.execPath, [main, 'init', join(dir, 'd'), '--radius-port', '11812', '--secret', 's3cret-value-long', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { radius: { host: string; port: number; secret: string }; files: Record<string, string> };
    expect(out.radius).toEqual({ host: '127.0.0.1', port: 11812, secret: 's3cret-value-long', accountingPort: 11813 });
    for (const key of ['caCert', 'serverCert', 'clientCert', 'clientKey']) {
      expect(out.files[key]!.startsWith('/')).toBe(true);
      expect(existsSync(out.files[key]!)).toBe(true);
    }
    expect(statSync(out.files.clientKey!).mode & 0o077).toBe(0);
    expect(readFileSync(out.files.clientCert!, 'utf8')).toContain('BEGIN CERTIFICATE');
    const again = spawnSync(process.execPath, [main, 'init', join(dir, 'd')], { encoding: 'utf8' });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('refusing to overwrite');
  });

  test('administrative commands write to the database the config names (store.sqlite)', () => {
    spawnSync(process.execPath, [main, 'init', dir], { encoding: 'utf8' });
    const cfg = join(dir, 'gangway.yaml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('sqlite: gangway.db', 'sqlite: other.db'));
    const add = spawnSync(process.execPath, [main, 'users', 'add', 'bob', '--data', dir, '--password', 'bob-password'], { encoding: 'utf8' });
    expect(add.status).toBe(0);
    const list = spawnSync(process.execPath, [main, 'users', 'list', '--data', dir, '--json'], { encoding: 'utf8' });
    expect(list.stdout).toContain('"bob"');
    expect(existsSync(join(dir, 'other.db'))).toBe(true);
    const db = new Database(join(dir, 'other.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT name FROM users').all()).toEqual([{ name: 'bob' }]);
    } finally {
      db.close();
    }
  });

  test('a port in use: one plain line saying what to do, exit 1', async () => {
    const taken = createSocket('udp4');
    const port = await new Promise<number>((resolve) => taken.bind(0, '127.0.0.1', () => resolve(taken.address().port)));
    try {
      expect(gangway(['init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0']).status).toBe(0);
      const r = gangway(['serve', '--data', dir]);
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`cannot listen on 127.0.0.1:${port} (UDP): the address is already in use`);
      expect(lines[0]).toContain(`server.listen in ${join(dir, 'gangway.yaml')}`);
      expect(r.stdout).not.toContain('"stack"');
    } finally {
      taken.close();
    }
  });

  // FAILS at 4099e12: serve spent its start-up warm-up's seconds before it opened the store and refused.
  test('serve on a database a newer Gangway migrated: one line, exit 1, before the warm-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-cli-newer-'));
    try {
      expect(gangway(['init', join(dir, 'd')]).status).toBe(0);
      const db = new Database(join(dir, 'd', 'gangway.db'));
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from-the-future', '2026-12-07T00:00:00.000Z')").run();
      db.close();
      const r = gangway(['serve', '--data', join(dir, 'd')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^gangway: .*gangway\.db has schema versions this Gangway does not know \(99\): written by a newer version; upgrade Gangway or restore a backup \(store\.sqlite in .*gangway\.yaml; docs\/scaling\.md\)\.\n$/);
      expect(r.stdout).not.toContain('start-up warm-up');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('serve with a bad config exits 78 naming the key', () => {
    spawnSync(process.execPath, [main, 'init', dir], { encoding: 'utf8' });
    const cfg = join(dir, 'gangway.yaml');
    writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}\nbogusKey: 1\n`);
    const r = spawnSync(process.execPath, [main, 'serve', '--data', dir], { encoding: 'utf8', timeout: 10000 });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('config: bogusKey: is not a known setting');
  });

  test('serve loads an EAP method plugin named in the config and runs a conversation with it', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', 'plugin-secret-long'], { encoding: 'utf8' });
    const cfg = join(dir, 'gangway.yaml');
    const plugin = join(__dirname, '..', 'fixtures', 'echo-plugin.mjs');
    const doc = parse(readFileSync(cfg, 'utf8')) as { eap: Record<string, unknown> };
    doc.eap.defaultMethods = ['echo-plugin'];
    doc.eap.plugins = [{ module: plugin, options: { challenge: 'marco' } }];
    writeFileSync(cfg, stringify(doc));
    const child = spawn(process.execPath, [main, 'serve', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/"methods":\[[^\]]*"echo-plugin"/);
      const client = new RadiusClient({ host: '127.0.0.1', port, secret: 'plugin-secret-long' });
      try {
        const identity = Buffer.from('0201000a01616c696365', 'hex');
        const first = await client.send({ attributes: [...splitEapMessage(identity), stringAttribute(AttributeType.UserName, 'alice')] });
        expect(first.packet.code).toBe(RadiusCode.AccessChallenge);
        const request = joinEapMessage(first.packet)!;
        expect(request[4]).toBe(250);
        expect(Buffer.from(request.subarray(5)).toString()).toBe('marco');
        const echo = Buffer.concat([Buffer.from([2, request[1]!, 0, 10, 250]), Buffer.from('marco')]);
        const second = await client.send({ attributes: [...splitEapMessage(echo), { type: AttributeType.State, value: getAttribute(first.packet, AttributeType.State)! }] });
        expect(second.packet.code).toBe(RadiusCode.AccessAccept);
      } finally {
        await client.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
  });

  test('serve refuses a plugin that takes a built-in method\'s name, even with that method switched off (its grants would be trusted as the built-in\'s)', () => {
    spawnSync(process.execPath, [main, 'init', dir, '--radius-port', '0', '--accounting-port', '0', '--portal-port', '0'], { encoding: 'utf8' });
    const cfg = join(dir, 'gangway.yaml');
    const doc = parse(readFileSync(cfg, 'utf8')) as { eap: Record<string, unknown>; methods?: Record<string, unknown> };
    if (doc.methods) delete doc.methods['eap-noob'];
    doc.eap.plugins = [{ module: join(__dirname, '..', 'fixtures', 'faulty-plugin.mjs'), options: { name: 'eap-noob', type: 241 } }];
    writeFileSync(cfg, stringify(doc));
    const r = spawnSync(process.execPath, [main, 'serve', '--data', dir], { encoding: 'utf8', timeout: 20000 });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/eap\.plugins\[0\]\.module: .*names its method "eap-noob", the name of a built-in method/);
  });

  test('start initialises the data directory, answers Status-Server, and stops cleanly on SIGTERM', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    spawnSync(process.execPath, [main, 'init', dir, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', 'start-secret-long'], { encoding: 'utf8' });
    const child = spawn(process.execPath, [main, 'start', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    for (let i = 0; i < 300 && !out.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('gangway listening');
    expect(await statusServer(port, 'start-secret-long')).toBe(RadiusCode.AccessAccept);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('shutting down');
    expect(out).not.toContain('start-secret-long');
  });
});
