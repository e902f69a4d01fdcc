/**
 * `gangway serve` with jemalloc preloaded, as deploy/systemd/gangway.service offers it: the server
 * starts on it (its log and /proc say so) and answers EAP-TLS, and it stops cleanly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoEapTlsDriver } from '../helpers/demo-eap-tls.js';
import { freeUdpPort, terminate } from '../helpers/proc.js';
import { requireFile } from '../helpers/require-tool.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const SECRET = 'serve-jemalloc-secret';
/** Debian's libjemalloc2 (multiarch directory of this machine); the unit preloads it by its bare name. */
const JEMALLOC = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`;
const jemalloc = requireFile('libjemalloc2', JEMALLOC);

(jemalloc ? describe : describe.skip)('gangway serve on jemalloc', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'gangway-jemalloc-')); });
  afterAll(async () => {
    if (child) await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts on it, says so, answers EAP-TLS and stops with status 0', async () => {
    const data = join(dir, 'data');
    const port = await freeUdpPort();
    const init = spawnSync(process.execPath, [main, 'init', data, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', SECRET], { encoding: 'utf8' });
    expect(init.status).toBe(0);
    const c = spawn(process.execPath, [main, 'serve', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: 'stats_print:true' } });
    child = c;
    let out = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    for (let i = 0; i < 600 && !out.includes('gangway listening'); i++) await new Promise((r) => setTimeout(r, 100));
    const listening = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'gangway listening');
    expect(listening).toMatchObject({ malloc: 'jemalloc' });
    expect(readFileSync(`/proc/${c.pid!}/maps`, 'utf8')).toContain('libjemalloc');

    const driver = await demoEapTlsDriver(data, port, SECRET, () => out);
    try {
      for (let i = 0; i < 20; i++) expect(await driver.run(i, 1)).toMatchObject({ ok: true });
    } finally {
      await driver.close();
    }
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    c.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    expect(out).not.toMatch(/cannot be preloaded/);
    // jemalloc's own statistics at exit: it served the process's allocations, not merely mapped.
    expect(out).toContain('___ Begin jemalloc statistics ___');
  }, 120_000);
});
