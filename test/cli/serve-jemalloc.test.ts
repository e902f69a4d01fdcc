/**
 * `gangway serve` with jemalloc preloaded, as deploy/systemd/gangway.service offers it: the server
 * starts on it (its log and /proc say so) and answers EAP-TLS, and it stops cleanly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failedDemoEapTlsRuns, initDemoDataDir, spawnServe, type ServeProcess } from '../helpers/demo-serve.js';
import { requireFile } from '../helpers/require-tool.js';

const SECRET = 'serve-jemalloc-secret';
/** Debian's libjemalloc2 (multiarch directory of this machine); the unit preloads it by its bare name. */
const JEMALLOC = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`;
const jemalloc = requireFile('libjemalloc2', JEMALLOC);

(jemalloc ? describe : describe.skip)('gangway serve on jemalloc', () => {
  let dir: string;
  let serve: ServeProcess | undefined;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'gangway-jemalloc-')); });
  afterAll(async () => {
    await serve?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts on it, says so, answers EAP-TLS and stops with status 0', async () => {
    const { data, port } = await initDemoDataDir(join(dir, 'data'), SECRET);
    const c = spawnServe(data, { env: { LD_PRELOAD: 'libjemalloc.so.2', MALLOC_CONF: 'stats_print:true' } });
    serve = c;
    expect(await c.listening()).toMatchObject({ malloc: 'jemalloc' });
    expect(readFileSync(`/proc/${c.child.pid!}/maps`, 'utf8')).toContain('libjemalloc');

    expect(await failedDemoEapTlsRuns(c, data, port, SECRET, 20)).toEqual([]);
    expect(await c.stop()).toBe(0);
    serve = undefined;
    expect(c.output()).not.toMatch(/cannot be preloaded/);
    // jemalloc's own statistics at exit: it served the process's allocations, not merely mapped.
    expect(c.output()).toContain('___ Begin jemalloc statistics ___');
  }, 120_000);
});
