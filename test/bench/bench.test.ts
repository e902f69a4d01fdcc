/**
 * `gangway bench` in miniature: every method, 6 authentications, 2 in flight, against Gangway (a
 * child process from dist/) and hostapd 2.10 when the hostap tools are there (required under CI).
 * Structure and success only: speed is what the benchmark reports, never what a test asserts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run as bench } from '../../src/cli/commands/bench.js';
import { formatReport, type BenchReport } from '../../src/bench/report.js';
import { BENCH_METHODS } from '../../src/bench/method.js';
import { hostapTools } from '../helpers/eapol-test.js';
import { projectRoot } from '../helpers/proc.js';
import { opensslEngineLoaded } from '../helpers/tls-engines.js';

const tools = hostapTools();
const main = join(projectRoot(), 'dist', 'cli', 'main.js');

function collector(): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) }, out, err };
}

describe('gangway bench', () => {
  jest.setTimeout(60_000);

  test('usage errors exit 2 without starting anything', async () => {
    for (const args of [['--method', 'pap'], ['--count', '0'], ['--concurrency', 'x'], ['--hostapd', '/x', '--no-hostapd'], ['--bogus'], ['--tls-engine', 'wolfssl'], ['--tls-engine', ',']]) {
      const c = collector();
      expect(await bench(args, c.io)).toBe(2);
      expect(c.out.join('')).toBe('');
      expect(c.err.join('')).toMatch(/usage: gangway bench/);
    }
  });

  test('a tiny run: every authentication succeeds and the report has every figure', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const c = collector();
    const code = await bench(
      ['--method', 'all', '--count', '6', '--concurrency', '2', '--warmup', '2', '--raw-seconds', '0.2', '--gangway-main', main, '--json',
        ...(tools ? ['--hostapd', tools.hostapd] : ['--no-hostapd'])],
      c.io,
    );
    const stderr = c.err.join('');
    if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${stderr}\n${c.out.join('')}`);
    const report = JSON.parse(c.out.join('')) as BenchReport;

    expect(report.allSucceeded).toBe(true);
    expect(report.settings).toMatchObject({ methods: [...BENCH_METHODS], count: 6, concurrency: 2, warmup: 2 });
    expect(report.machine.nproc).toBeGreaterThan(0);
    expect(report.machine.clkTck).toBeGreaterThan(0);

    for (const name of ['tls12', 'tls13', 'x25519'] as const) {
      const ref = report.references[name]!;
      expect(ref.runs).toHaveLength(2);
      for (const r of ref.runs) expect(r.operations).toBeGreaterThanOrEqual(10);
      expect(Number.isFinite(ref.cpuMsPerOp)).toBe(true);
    }

    const expected = BENCH_METHODS.flatMap((m) => (tools && m !== 'noob-reconnect' ? [`${m}/gangway`, `${m}/hostapd`] : [`${m}/gangway`]));
    expect(report.results.map((r) => `${r.method}/${r.server}`)).toEqual(expected);
    for (const r of report.results) {
      expect({ what: `${r.method}/${r.server}`, attempted: r.attempted, successes: r.successes, failures: r.failures, stoppedEarly: r.stoppedEarly, reasons: r.failureReasons }).toEqual({
        what: `${r.method}/${r.server}`, attempted: 6, successes: 6, failures: 0, stoppedEarly: false, reasons: {},
      });
      expect(r.roundsPerAuth).toBeGreaterThanOrEqual(3);
      expect(r.reference).toBe({ 'eap-tls': 'tls12', 'eap-tls13': 'tls13', 'teap-mschapv2': 'tls12', 'noob-reconnect': 'x25519' }[r.method]);
      for (const v of [r.wallSeconds, r.authsPerSecond, r.latencyMs.p50, r.latencyMs.p95, r.latencyMs.p99, r.serverCpuSeconds, r.serverCpuMsPerAuth, r.loadCpuSeconds]) {
        expect(Number.isFinite(v) && v >= 0).toBe(true);
      }
      expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
      expect(r.serverRssKb.before).toBeGreaterThan(0);
      expect(r.serverRssKb.peak).toBeGreaterThanOrEqual(r.serverRssKb.after);
    }

    if (tools) {
      expect(report.servers.hostapd).toMatchObject({ version: expect.stringMatching(/^hostapd v2\./) });
      expect(report.comparisons.map((x) => x.method)).toEqual(['eap-tls', 'eap-tls13', 'teap-mschapv2']);
    } else {
      expect(report.servers.hostapd).toEqual({ skipped: '--no-hostapd' });
      expect(report.comparisons).toEqual([]);
    }

    const table = formatReport(report);
    for (const m of BENCH_METHODS) expect(table).toContain(m);
    expect(table).toContain('Raw references');
    // The servers are gone and the temporary data directory removed.
    const dir = /data directory (\S+)/.exec(stderr)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  (opensslEngineLoaded() ? test : test.skip)('--tls-engine openssl,node: one Gangway per engine in the same run, each compared with hostapd', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const c = collector();
    const code = await bench(
      ['--method', 'eap-tls13,teap-mschapv2,noob-reconnect', '--tls-engine', 'openssl,node', '--count', '4', '--concurrency', '2', '--warmup', '2', '--raw-seconds', '0.2',
        '--gangway-main', main, '--json', ...(tools ? ['--hostapd', tools.hostapd] : ['--no-hostapd'])],
      c.io,
    );
    if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${c.err.join('')}\n${c.out.join('')}`);
    const report = JSON.parse(c.out.join('')) as BenchReport;
    expect(report.allSucceeded).toBe(true);
    expect(report.servers.gangway.engines).toEqual(['openssl', 'node']);
    const label = (r: { method: string; server: string; engine?: string }): string => [r.method, r.server, r.engine].filter(Boolean).join('/');
    const expected = ['eap-tls13', 'teap-mschapv2', 'noob-reconnect'].flatMap((m) => [`${m}/gangway/openssl`, `${m}/gangway/node`, ...(tools && m !== 'noob-reconnect' ? [`${m}/hostapd`] : [])]);
    expect(report.results.map(label)).toEqual(expected);
    if (tools) expect(report.comparisons.map((x) => `${x.method}/${x.engine}`)).toEqual(['eap-tls13/openssl', 'eap-tls13/node', 'teap-mschapv2/openssl', 'teap-mschapv2/node']);
    expect(formatReport(report)).toContain('gangway/openssl');
  });
});
