/**
 * `gangway bench` end to end: a temporary data directory, the raw references, Gangway (and hostapd
 * when available) as child processes on loopback, the same load against each, and the report.
 * Everything it starts is stopped and removed on the way out, also on errors and on exit.
 */
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBenchFixture, forkBenchFixture, type BenchFixture } from './fixture.js';
import { startGangwayTarget } from './gangway-target.js';
import { startHostapdTarget } from './hostapd-target.js';
import { summarizeLatencies } from './latency.js';
import { runLoad } from './load.js';
import type { BenchMethod, BenchMethodName } from './method.js';
import { eapTls12, eapTls13 } from './method-eap-tls.js';
import { noobReconnect } from './method-noob.js';
import { teapMschapv2 } from './method-teap.js';
import { clockTicksPerSecond, processCpuSeconds, processMemory } from './proc-stats.js';
import { measureRawReference, type RawReference, type RawReferenceName, type RawRunLimits } from './raw-reference.js';
import type { BenchReport, Comparison, RawReferenceSummary, TargetResult } from './report.js';
import type { ServerTarget } from './target.js';
import { freeUdpPort } from './udp-port.js';

const METHODS: Record<BenchMethodName, BenchMethod> = {
  'eap-tls': eapTls12,
  'eap-tls13': eapTls13,
  'teap-mschapv2': teapMschapv2,
  'noob-reconnect': noobReconnect,
};

export interface BenchOptions {
  methods: BenchMethodName[];
  /** Measured authentications per method and server. */
  count: number;
  /** Conversations in flight. */
  concurrency: number;
  /** Unmeasured authentications before each measurement (JIT, caches, lazy initialisation). */
  warmup: number;
  /** `dist/cli/main.js` of the Gangway to run. */
  gangwayMain: string;
  /** hostapd binary, or why there is none. */
  hostapd: { path: string } | { skipped: string };
  /** Per server and method: no new authentication after this long. */
  maxSeconds: number;
  /** Wall time per raw reference measurement. */
  rawSeconds: number;
  /** One authentication's limit. */
  authTimeoutMs?: number;
  /** Keep the temporary directories (debugging). */
  keepDir?: boolean;
  /** One Gangway per TLS engine, each with its own copy of the data directory; unset: one, its default. */
  tlsEngines?: ('openssl' | 'node')[];
}

export type BenchProgress = (line: string) => void;

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : NaN;
}

async function measureTarget(method: BenchMethod, target: ServerTarget, fixture: BenchFixture, opts: BenchOptions, reference: RawReferenceSummary): Promise<TargetResult> {
  const driver = await method.prepare({ target, fixture, concurrency: opts.concurrency });
  const authTimeoutMs = opts.authTimeoutMs ?? 30_000;
  try {
    if (opts.warmup > 0) {
      const warm = await runLoad({ count: opts.warmup, concurrency: opts.concurrency, maxSeconds: opts.maxSeconds, authTimeoutMs, run: (i, w) => driver.run(i, w) });
      if (warm.successes === 0) throw new Error(`${method.name} on ${target.kind}: every warm-up authentication failed: ${JSON.stringify(warm.failureReasons)}\n${target.tail()}`);
    }
    const memBefore = processMemory(target.pid);
    const cpuBefore = processCpuSeconds(target.pid);
    const load = await runLoad({ count: opts.count, concurrency: opts.concurrency, maxSeconds: opts.maxSeconds, authTimeoutMs, run: (i, w) => driver.run(i, w) });
    const cpu = processCpuSeconds(target.pid) - cpuBefore;
    const memAfter = processMemory(target.pid);
    const completed = Math.max(1, load.attempted);
    const serverCpuMsPerAuth = (cpu * 1000) / completed;
    return {
      method: method.name,
      server: target.kind,
      ...(target.engine ? { engine: target.engine } : {}),
      attempted: load.attempted,
      successes: load.successes,
      failures: load.failures,
      failureReasons: load.failureReasons,
      stoppedEarly: load.stoppedEarly,
      wallSeconds: load.wallSeconds,
      authsPerSecond: ratio(load.attempted, load.wallSeconds),
      latencyMs: summarizeLatencies(load.latenciesMs),
      roundsPerAuth: load.totalRounds / completed,
      serverCpuSeconds: cpu,
      serverCpuMsPerAuth,
      serverRssKb: { before: memBefore.rssKb, after: memAfter.rssKb, peak: memAfter.peakRssKb },
      loadCpuSeconds: load.loadCpuSeconds,
      loadCpuShare: ratio(load.loadCpuSeconds, load.wallSeconds),
      serverCpuShare: ratio(cpu, load.wallSeconds),
      reference: reference.name,
      cpuPerAuthOverRaw: ratio(serverCpuMsPerAuth, reference.cpuMsPerOp),
    };
  } finally {
    await driver.close();
  }
}

function summarize(runs: RawReference[]): RawReferenceSummary {
  const first = runs[0]!;
  const cpuMsPerOp = runs.reduce((s, r) => s + r.cpuMsPerOp, 0) / runs.length;
  return { name: first.name, description: first.description, cpuMsPerOp, perCpuSecond: cpuMsPerOp > 0 ? 1000 / cpuMsPerOp : 0, runs };
}

export async function runBench(opts: BenchOptions, progress: BenchProgress = () => undefined): Promise<BenchReport> {
  if (opts.methods.length === 0) throw new Error('no method to benchmark');
  const methods = opts.methods.map((n) => METHODS[n]);
  const dir = mkdtempSync(join(tmpdir(), 'gangway-bench-'));
  // process.exit() skips finally blocks; the directory holds keys and must not outlive us.
  const removeDir = (): void => {
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', removeDir);
  const targets: ServerTarget[] = [];
  try {
    progress(`data directory ${dir}`);
    const fixture = await createBenchFixture(join(dir, 'data'), await freeUdpPort());
    const creds = {
      caPem: fixture.pem.ca, serverCertPem: fixture.pem.serverCert, serverKeyPem: fixture.pem.serverKey,
      clientCertPem: fixture.pem.clientCert, clientKeyPem: fixture.pem.clientKey, serverName: fixture.serverName,
    };
    const limits: RawRunLimits = { seconds: opts.rawSeconds, minOperations: 10, maxOperations: 100_000 };
    const refNames = [...new Set(methods.map((m) => m.reference))];
    const rawRuns = new Map<RawReferenceName, RawReference[]>();
    const measureRaw = async (when: string): Promise<void> => {
      for (const name of refNames) {
        const r = await measureRawReference(name, creds, limits);
        rawRuns.set(name, [...(rawRuns.get(name) ?? []), r]);
        progress(`raw ${name} (${when}): ${r.cpuMsPerOp.toFixed(3)} CPU ms per operation, ${r.operations} operations`);
      }
    };
    await measureRaw('before');
    const provisional = (name: RawReferenceName): RawReferenceSummary => summarize(rawRuns.get(name)!);

    // The fixture each server uses: its own data directory per engine (NOOB writes to it).
    const fixtureOf = new Map<ServerTarget, BenchFixture>();
    const gangways: ServerTarget[] = [];
    for (const engine of opts.tlsEngines ?? [undefined]) {
      const f = engine ? forkBenchFixture(fixture, join(dir, `data-${engine}`), engine) : fixture;
      const gangway = await startGangwayTarget(opts.gangwayMain, f, engine);
      targets.push(gangway);
      gangways.push(gangway);
      fixtureOf.set(gangway, f);
      progress(`${gangway.version}${engine ? ` (TLS engine ${engine})` : ''} pid ${gangway.pid} on 127.0.0.1:${gangway.port}`);
    }
    const gangway = gangways[0]!;
    let hostapd: ServerTarget | undefined;
    if ('path' in opts.hostapd && methods.some((m) => m.onHostapd)) {
      hostapd = await startHostapdTarget(opts.hostapd.path, fixture, opts.keepDir);
      targets.push(hostapd);
      progress(`${hostapd.version} pid ${hostapd.pid} on 127.0.0.1:${hostapd.port}`);
    }

    const results: TargetResult[] = [];
    for (const method of methods) {
      for (const target of [...gangways, ...(hostapd && method.onHostapd ? [hostapd] : [])]) {
        const label = target.engine ? `${target.kind}/${target.engine}` : target.kind;
        progress(`${method.name} on ${label}: ${opts.warmup} warm-up + ${opts.count} measured, ${opts.concurrency} in flight`);
        const r = await measureTarget(method, target, fixtureOf.get(target) ?? fixture, opts, provisional(method.reference));
        results.push(r);
        progress(`  ${r.successes}/${r.attempted} ok, ${r.authsPerSecond.toFixed(1)} auths/s, ${r.serverCpuMsPerAuth.toFixed(2)} server CPU ms per auth`);
      }
    }
    await measureRaw('after');

    // Ratios against the mean of the before and after runs of the reference.
    const references: Partial<Record<RawReferenceName, RawReferenceSummary>> = {};
    for (const name of refNames) references[name] = summarize(rawRuns.get(name)!);
    for (const r of results) r.cpuPerAuthOverRaw = ratio(r.serverCpuMsPerAuth, references[r.reference]!.cpuMsPerOp);
    const comparisons: Comparison[] = [];
    for (const method of methods) {
      const h = results.find((r) => r.method === method.name && r.server === 'hostapd');
      for (const g of results.filter((r) => r.method === method.name && r.server === 'gangway')) {
        if (!h) continue;
        comparisons.push({
          method: method.name,
          ...(g.engine ? { engine: g.engine } : {}),
          cpuPerAuth: ratio(g.serverCpuMsPerAuth, h.serverCpuMsPerAuth),
          authsPerSecond: ratio(g.authsPerSecond, h.authsPerSecond),
          latencyP50: ratio(g.latencyMs.p50, h.latencyMs.p50),
        });
      }
    }
    const cpu = cpus();
    return {
      tool: 'gangway bench',
      date: new Date().toISOString(),
      machine: { nproc: availableParallelism(), cpuModel: cpu[0]?.model.trim() ?? 'unknown', node: process.version, platform: process.platform, kernel: release(), clkTck: clockTicksPerSecond() },
      settings: { methods: opts.methods, count: opts.count, concurrency: opts.concurrency, warmup: opts.warmup, maxSeconds: opts.maxSeconds },
      servers: {
        gangway: { version: gangway.version, ...(opts.tlsEngines ? { engines: opts.tlsEngines } : {}) },
        hostapd: hostapd ? { version: hostapd.version, path: 'path' in opts.hostapd ? opts.hostapd.path : '' } : { skipped: 'skipped' in opts.hostapd ? opts.hostapd.skipped : 'no method it serves was selected' },
      },
      references,
      results,
      comparisons,
      allSucceeded: results.every((r) => r.failures === 0 && !r.stoppedEarly && r.successes === r.attempted),
    };
  } finally {
    for (const t of targets.reverse()) await t.stop().catch(() => undefined);
    removeDir();
    process.off('exit', removeDir);
  }
}
