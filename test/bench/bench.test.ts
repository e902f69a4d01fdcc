/**
 * `gangway bench` in miniature: every method, 6 authentications, 2 in flight, against Gangway (a
 * child process from dist/) and hostapd 2.10 when the hostap tools are there (required under CI).
 * Structure and success only: speed is what the benchmark reports, never what a test asserts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchFixture } from '../../src/bench/fixture.js';
import { startGangwayTarget } from '../../src/bench/gangway-target.js';
import { freeUdpPort } from '../../src/bench/udp-port.js';
import { run as bench } from '../../src/cli/commands/bench.js';
import { formatReport, type BenchReport } from '../../src/bench/report.js';
import { BENCH_METHODS, METHOD_SERVERS } from '../../src/bench/method.js';
import { hostapTools } from '../helpers/eapol-test.js';
import { freeradiusTools } from '../helpers/freeradius-proxy.js';
import { projectRoot } from '../helpers/proc.js';
import { opensslEngineLoaded } from '../helpers/tls-engines.js';

const tools = hostapTools();
const freeradius = freeradiusTools();
const main = join(projectRoot(), 'dist', 'cli', 'main.js');

function collector(): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) }, out, err };
}

describe('gangway bench', () => {
  jest.setTimeout(300_000);

  test('usage errors exit 2 without starting anything', async () => {
    for (const args of [
      ['--method', 'pap'], ['--count', '0'], ['--concurrency', 'x'], ['--hostapd', '/x', '--no-hostapd'], ['--bogus'], ['--tls-engine', 'wolfssl'], ['--tls-engine', ','],
      ['--phase', 'warm'], ['--count', '5', '--duration', '5'], ['--secret', 's'], ['--server', 'nohost'], ['--server', '127.0.0.1:1812'],
      ['--server', '127.0.0.1:1812', '--secret', 's'], ['--server', '127.0.0.1:1812', '--secret', 's', '--tls-ca', '/nonexistent/ca.pem'],
      ['--method', 'noob-completion', '--duration', '3'], ['--hold', '0'], ['--settle-tolerance', '-1'], ['--freeradius', '/x', '--no-freeradius'],
      ['--rate', '5', '--load', '0.5'], ['--arrivals', 'even'], ['--seed', '3'], ['--load', '0.8', '--phase', 'cold'], ['--rate', '0'], ['--load', '-1'],
      ['--rate', '5', '--arrivals', 'bursty'], ['--rate', '5', '--max-outstanding', '201'], ['--server-metrics', 'http://127.0.0.1:9812/metrics'],
      ['--gangway-warmup', '-1'], ['--gangway-warmup', '10001'], ['--server', '127.0.0.1:1812', '--secret', 's', '--gangway-warmup', '5'],
    ]) {
      const c = collector();
      expect({ args, code: await bench(args, c.io) }).toEqual({ args, code: 2 });
      expect(c.out.join('')).toBe('');
      expect(c.err.join('')).toMatch(/usage: gangway bench/);
    }
  });

  test('a tiny run: cold and steady for every method, NOOB peers in the store, RSS samples, held TEAP conversations', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const c = collector();
    const code = await bench(
      ['--method', 'all', '--count', '4', '--concurrency', '2', '--warmup', '2', '--raw-seconds', '0.2', '--gangway-main', main, '--json', '--gangway-warmup', '2',
        '--peers', '100', '--rss-every', '2', '--hold', '6', ...(tools ? ['--hostapd', tools.hostapd] : ['--no-hostapd']),
        ...(freeradius ? ['--freeradius', freeradius.freeradius] : ['--no-freeradius'])],
      c.io,
    );
    const stderr = c.err.join('');
    if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${stderr}\n${c.out.join('')}`);
    const report = JSON.parse(c.out.join('')) as BenchReport;

    expect(report.allSucceeded).toBe(true);
    expect(report.settings).toMatchObject({ methods: [...BENCH_METHODS], count: 4, concurrency: 2, warmup: 2, phases: ['cold', 'steady'], rssEvery: 2, noobPeers: 100 });
    expect(report.machine.nproc).toBeGreaterThan(0);
    expect(report.machine.clkTck).toBeGreaterThan(0);

    for (const name of ['tls12', 'tls13', 'x25519'] as const) {
      const ref = report.references[name]!;
      expect(ref.runs).toHaveLength(2);
      for (const r of ref.runs) expect(r.operations).toBeGreaterThanOrEqual(10);
      expect(Number.isFinite(ref.cpuMsPerOp)).toBe(true);
    }

    const present = (s: string): boolean => s === 'gangway' || (s === 'hostapd' && tools !== undefined) || (s === 'freeradius' && freeradius !== undefined);
    const servers = (m: string): string[] => (METHOD_SERVERS[m as keyof typeof METHOD_SERVERS] as readonly string[]).filter(present);
    const expected = BENCH_METHODS.flatMap((m) => servers(m).flatMap((s) => [`${m}/${s}/cold`, `${m}/${s}/steady`]));
    expect(report.results.map((r) => `${r.method}/${r.server}/${r.phase}`)).toEqual(expected);
    for (const r of report.results) {
      const what = `${r.method}/${r.server}/${r.phase}`;
      expect({ what, attempted: r.attempted, successes: r.successes, failures: r.failures, stoppedEarly: r.stoppedEarly, reasons: r.failureReasons }).toEqual({
        what, attempted: 4, successes: 4, failures: 0, stoppedEarly: false, reasons: {},
      });
      expect(r.warmup).toMatchObject(r.phase === 'cold' ? { mode: 'none', authentications: 0 } : { mode: 'fixed', authentications: 2 });
      expect(r.roundsPerAuth).toBeGreaterThanOrEqual(3);
      expect(r.reference).toBe({ 'eap-tls': 'tls12', 'eap-tls13': 'tls13', 'teap-mschapv2': 'tls12', 'peap-mschapv2': 'tls12', 'noob-completion': 'x25519', 'noob-reconnect': 'x25519' }[r.method]);
      for (const v of [r.wallSeconds, r.authsPerSecond, r.latencyMs.p50, r.latencyMs.p95, r.latencyMs.p99, r.serverCpuSeconds, r.serverCpuMsPerAuth, r.loadCpuSeconds]) {
        expect(v !== null && Number.isFinite(v) && v >= 0).toBe(true);
      }
      expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
      expect(r.serverRssKb!.before).toBeGreaterThan(0);
      expect(r.serverRssKb!.peak).toBeGreaterThanOrEqual(r.serverRssKb!.after);
      // RSS at 0, 2 and 4 authentications.
      expect(r.rssSamples!.map((x) => x.authentications)).toEqual([0, 2, 4]);
      for (const x of r.rssSamples!) expect(x.rssKb).toBeGreaterThan(0);
    }

    expect(report.held).toMatchObject({ requested: 6, held: 6, failures: 0, settings: { clientShare: 1, idleTimeoutSeconds: 3600 } });
    expect(report.held!.rssKb.held).toBeGreaterThan(0);
    expect(Number.isFinite(report.held!.kibPerConversation)).toBe(true);

    expect(report.servers.gangway!.startupWarmup).toBe(2);
    if (tools) expect(report.servers.hostapd).toMatchObject({ version: expect.stringMatching(/^hostapd v2\./) });
    else expect(report.servers.hostapd).toEqual({ skipped: '--no-hostapd' });
    if (freeradius) expect(report.servers.freeradius).toMatchObject({ version: expect.stringMatching(/^FreeRADIUS 3\./) });
    else expect(report.servers.freeradius).toEqual({ skipped: '--no-freeradius' });
    // Same method where both have it, then Gangway's TEAP against the references' PEAP.
    const refs = ['hostapd', 'freeradius'].filter(present);
    const pairs: [string, string][] = [['eap-tls', 'eap-tls'], ['eap-tls13', 'eap-tls13'], ['teap-mschapv2', 'teap-mschapv2'], ['teap-mschapv2', 'peap-mschapv2']];
    const expectedComparisons = pairs.flatMap(([g, m]) => refs.filter((ref) => servers(m).includes(ref)).flatMap((ref) => [`${g}/${ref} ${m}/cold`, `${g}/${ref} ${m}/steady`]));
    expect(report.comparisons.map((x) => `${x.method}/${x.against.server} ${x.against.method}/${x.phase}`)).toEqual(expectedComparisons);

    const table = formatReport(report);
    for (const m of BENCH_METHODS) expect(table).toContain(m);
    expect(table).toContain('Raw references');
    expect(table).toContain('Held TEAP conversations');
    expect(table).toContain('Server RSS during the measured run');
    // The servers are gone and the temporary data directory removed.
    const dir = /data directory (\S+)/.exec(stderr)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  test('--rate: open-loop arrivals against Gangway; every round trip timed at the generator and by the server itself', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const c = collector();
    const code = await bench(
      ['--method', 'eap-tls,teap-mschapv2', '--rate', '20', '--arrivals', 'even', '--max-outstanding', '4', '--count', '6', '--warmup', '2', '--raw-seconds', '0.2',
        '--gangway-main', main, '--json', '--no-hostapd', '--no-freeradius'],
      c.io,
    );
    if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${c.err.join('')}\n${c.out.join('')}`);
    const report = JSON.parse(c.out.join('')) as BenchReport;
    expect(report.settings).toMatchObject({ phases: ['steady'], open: { rate: 20, process: 'even', maxOutstanding: 4, seed: 1 } });
    expect(report.results.map((r) => `${r.method}/${r.server}/${r.phase}/${r.loop}`)).toEqual(['eap-tls/gangway/steady/open', 'teap-mschapv2/gangway/steady/open']);
    for (const r of report.results) {
      expect(r).toMatchObject({ attempted: 6, successes: 6, failures: 0 });
      expect(r.offered).toMatchObject({ ratePerSecond: 20, process: 'even', maxOutstanding: 4, offered: 6 });
      expect(r.offered!.offered).toBe(r.attempted + r.offered!.skipped);
      expect(r.offered!.peakOutstanding).toBeLessThanOrEqual(4);
      // Every exchange of every conversation timed at the generator, and each answered.
      expect(r.roundTripMs.count).toBe(r.totalRounds);
      expect(r.roundTripMs.unanswered).toBe(0);
      expect(r.totalRounds).toBeGreaterThanOrEqual(6 * 3);
      expect(r.roundTripMs.p50).toBeLessThanOrEqual(r.roundTripMs.p99);
      expect(r.roundTripMs.p99).toBeLessThanOrEqual(r.roundTripMs.max);
      // The server counted at least the requests the generator saw answered.
      const st = r.serverTime;
      if (!st || 'error' in st) throw new Error(`no server time: ${JSON.stringify(st)}`);
      expect(st.requests).toBeGreaterThanOrEqual(r.roundTripMs.count);
      expect(st.withinMs).toBe(5);
      expect(st.withinFraction).toBeGreaterThanOrEqual(0);
      expect(st.withinFraction).toBeLessThanOrEqual(1);
      expect(st.p99LeMs === null || st.p99LeMs > 0).toBe(true);
    }
    const table = formatReport(report);
    expect(table).toContain('Per RADIUS round trip');
    expect(table).toContain('steady@20/s');
    expect(report.notes.join('\n')).not.toMatch(/skipped/);

    // One slot and an arrival every 5 ms: no EAP-TLS conversation ends that fast, so arrivals are skipped and said to be.
    const o = collector();
    const overloaded = await bench(
      ['--method', 'eap-tls', '--rate', '200', '--arrivals', 'even', '--max-outstanding', '1', '--count', '6', '--warmup', '0', '--raw-seconds', '0.2',
        '--gangway-main', main, '--json', '--no-hostapd', '--no-freeradius'],
      o.io,
    );
    if (overloaded !== 0) throw new Error(`gangway bench exited ${overloaded}:\n${o.err.join('')}\n${o.out.join('')}`);
    const r = (JSON.parse(o.out.join('')) as BenchReport).results[0]!;
    expect(r.offered!.offered).toBe(6);
    expect(r.offered!.skipped).toBeGreaterThan(0);
    expect(r.attempted + r.offered!.skipped).toBe(6);
    expect(r.offered!.peakOutstanding).toBe(1);
    expect(r.roundTripMs.count).toBe(r.totalRounds);
    expect((JSON.parse(o.out.join('')) as BenchReport).notes.join('\n')).toMatch(/eap-tls on gangway: \d+ of 6 arrivals skipped/);
  });

  test('--load: the closed-loop maximum first, then open-loop at a share of it, hostapd timed per round trip too', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const c = collector();
    const code = await bench(
      ['--method', 'eap-tls', '--load', '0.5', '--count', '6', '--concurrency', '2', '--warmup', '2', '--raw-seconds', '0.2', '--gangway-main', main, '--json', '--no-freeradius',
        ...(tools ? ['--hostapd', tools.hostapd] : ['--no-hostapd'])],
      c.io,
    );
    if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${c.err.join('')}\n${c.out.join('')}`);
    const report = JSON.parse(c.out.join('')) as BenchReport;
    const servers = ['gangway', ...(tools ? ['hostapd'] : [])];
    expect(report.results.map((r) => `${r.server}/${r.loop}`)).toEqual(servers.flatMap((s) => [`${s}/closed`, `${s}/open`]));
    for (const s of servers) {
      const [max, open] = report.results.filter((r) => r.server === s);
      expect(max!.load).toBeUndefined();
      expect(open!.load).toEqual({ fraction: 0.5, saturationAuthsPerSecond: max!.authsPerSecond });
      expect(open!.offered!.ratePerSecond).toBeCloseTo(0.5 * max!.authsPerSecond, 1);
      for (const r of [max!, open!]) {
        expect(r.successes).toBe(6);
        expect(r.roundTripMs.count).toBe(r.totalRounds);
        // Only Gangway has a metrics page the bench can read.
        if (s === 'gangway') expect(r.serverTime).toMatchObject({ requests: expect.any(Number) });
        else expect(r.serverTime).toBeUndefined();
      }
    }
    if (tools) expect(report.comparisons.map((x) => `${x.phase}/${x.loop ?? 'closed'}`)).toEqual(['steady/closed', 'steady/open']);
  });

  test('--server: any RADIUS server by address, with its CPU and RSS from --server-pid, for --duration seconds, warmed up until settled', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const dir = mkdtempSync(join(tmpdir(), 'gangway-bench-external-'));
    const fixture = await createBenchFixture(join(dir, 'data'), await freeUdpPort());
    const server = await startGangwayTarget(main, fixture);
    try {
      const f = fixture.init.files;
      const c = collector();
      // Every method the credentials allow; Gangway has no PEAP, which is noted and skipped.
      const code = await bench(
        ['--server', `127.0.0.1:${server.port}`, '--secret', fixture.secret, '--server-pid', String(server.pid), '--server-metrics', server.metricsUrl!, '--tls-ca', f.caCert, '--tls-cert', f.clientCert, '--tls-key', f.clientKey,
          '--server-name', fixture.serverName, '--user', fixture.teapUser.name, `--password=${fixture.teapUser.password}`, '--teap-identity', fixture.teapOuterIdentity,
          '--duration', '1', '--concurrency', '2', '--settle-window', '10', '--settle-max', '200', '--settle-tolerance', '5', '--raw-seconds', '0.2', '--json'],
        c.io,
      );
      if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${c.err.join('')}\n${c.out.join('')}`);
      const report = JSON.parse(c.out.join('')) as BenchReport;
      expect(report.settings).toMatchObject({ methods: ['eap-tls', 'eap-tls13', 'teap-mschapv2', 'peap-mschapv2'], count: null, durationSeconds: 1, phases: ['cold', 'steady'] });
      expect(report.servers.external).toEqual({ address: `127.0.0.1:${server.port}`, pid: server.pid });
      expect(report.servers.gangway).toBeUndefined();
      expect(report.notes.join('\n')).toMatch(/cold figures need a server the bench starts/);
      expect(report.notes.join('\n')).toMatch(/peap-mschapv2 on external: skipped, .*every warm-up authentication failed/);
      expect(report.results.map((r) => `${r.method}/${r.server}/${r.phase}`)).toEqual(['eap-tls/external/steady', 'eap-tls13/external/steady', 'teap-mschapv2/external/steady']);
      for (const r of report.results) {
        expect(r.attempted).toBeGreaterThan(0);
        expect(r.failures).toBe(0);
        expect(r.serverCpuMsPerAuth).not.toBeNull();
        // --server-metrics: the external Gangway's own time per request.
        expect(r.serverTime).toMatchObject({ requests: expect.any(Number) });
        expect((r.serverTime as { requests: number }).requests).toBeGreaterThanOrEqual(r.roundTripMs.count);
        // A tolerance of 500 % settles after the first three windows.
        expect(r.warmup).toMatchObject({ mode: 'settle', settled: true, settledOn: 'cpu' });
        expect(r.warmup.windows).toHaveLength(3);
      }
      expect(report.allSucceeded).toBe(true);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (opensslEngineLoaded() ? test : test.skip)('--tls-engine openssl,node: one Gangway per engine in the same run, each compared with hostapd', async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.build.json)`);
    const c = collector();
    const code = await bench(
      ['--method', 'eap-tls13,teap-mschapv2,noob-reconnect', '--tls-engine', 'openssl,node', '--count', '4', '--concurrency', '2', '--warmup', '2', '--phase', 'steady', '--raw-seconds', '0.2',
        '--gangway-main', main, '--json', '--no-freeradius', ...(tools ? ['--hostapd', tools.hostapd] : ['--no-hostapd'])],
      c.io,
    );
    if (code !== 0) throw new Error(`gangway bench exited ${code}:\n${c.err.join('')}\n${c.out.join('')}`);
    const report = JSON.parse(c.out.join('')) as BenchReport;
    expect(report.allSucceeded).toBe(true);
    expect(report.servers.gangway!.engines).toEqual(['openssl', 'node']);
    const label = (r: { method: string; server: string; engine?: string }): string => [r.method, r.server, r.engine].filter(Boolean).join('/');
    const expected = ['eap-tls13', 'teap-mschapv2', 'noob-reconnect'].flatMap((m) => [`${m}/gangway/openssl`, `${m}/gangway/node`, ...(tools && m !== 'noob-reconnect' ? [`${m}/hostapd`] : [])]);
    expect(report.results.map(label)).toEqual(expected);
    if (tools) expect(report.comparisons.map((x) => `${x.method}/${x.engine}`)).toEqual(['eap-tls13/openssl', 'eap-tls13/node', 'teap-mschapv2/openssl', 'teap-mschapv2/node']);
    expect(formatReport(report)).toContain('gangway/openssl');
  });
});
