/**
 * `gangway bench` end to end: a temporary data directory, the raw references, the servers under
 * test (Gangway, hostapd, FreeRADIUS as child processes on loopback, or an operator's server by
 * address), the same load against each — cold right after a start and steady after a warm-up —
 * and the report. Everything it starts is stopped and removed on the way out, also on errors and
 * on exit.
 */
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBenchFixture, fixtureCredentials, forkBenchFixture, setGangwayWarmup, type BenchFixture } from './fixture.js';
import { startGangwayTarget } from './gangway-target.js';
import { measureHeldConversations } from './held-conversations.js';
import { startFreeradiusTarget } from './freeradius-target.js';
import { startHostapdTarget } from './hostapd-target.js';
import { WarmupFailed, measureRun, warmUp, type RunSettings, type WarmupPlan } from './measure.js';
import type { BenchMethod, BenchMethodName, PeerCredentials } from './method.js';
import { eapTls12, eapTls13 } from './method-eap-tls.js';
import { noobCompletion, noobReconnect } from './method-noob.js';
import { peapMschapv2 } from './method-peap.js';
import { teapMschapv2 } from './method-teap.js';
import { populateNoobPeers } from './noob-population.js';
import { clockTicksPerSecond } from './proc-stats.js';
import type { OpenLoadOptions, OpenLoadSettings } from './load.js';
import { RoundTripRecorder } from './round-trips.js';
import { measureRawReference, type RawReference, type RawReferenceName, type RawRunLimits } from './raw-reference.js';
import type { BenchReport, Comparison, HeldConversationsResult, RawReferenceSummary, ServerInfo, TargetResult } from './report.js';
import { targetLabel, type ServerKind, type ServerTarget } from './target.js';
import { freeUdpPort } from './udp-port.js';
import { DEFAULT_WARMUP } from '../config/config.js';

const METHODS: Record<BenchMethodName, BenchMethod> = {
  'eap-tls': eapTls12,
  'eap-tls13': eapTls13,
  'teap-mschapv2': teapMschapv2,
  'peap-mschapv2': peapMschapv2,
  'noob-completion': noobCompletion,
  'noob-reconnect': noobReconnect,
};

/** Gangway's method and its counterpart on a reference server that lacks it (password in a tunnel). */
const CROSS_PAIRS: readonly [BenchMethodName, BenchMethodName][] = [['teap-mschapv2', 'peap-mschapv2']];

export interface ExternalServer {
  host: string;
  port: number;
  secret: string;
  /** Its process on this machine, for CPU and RSS from /proc. */
  pid?: number;
  /** A Gangway's `/metrics` URL (`--server-metrics`): its own time per request. */
  metricsUrl?: string;
  credentials: PeerCredentials;
}

export interface BenchOptions {
  methods: BenchMethodName[];
  /** Measured authentications per method, server and phase; unset with `durationSeconds`. */
  count?: number;
  /** Measure for this long instead of a count (`--duration`). */
  durationSeconds?: number;
  /** Conversations in flight. */
  concurrency: number;
  /** cold: right after the server started; steady: after the warm-up. */
  phases: ('cold' | 'steady')[];
  /** The steady phase's warm-up. */
  warmup: Exclude<WarmupPlan, { kind: 'none' }>;
  /** `dist/cli/main.js` of the Gangway to run (unused with `external`). */
  gangwayMain: string;
  /** hostapd binary, or why there is none. */
  hostapd: { path: string } | { skipped: string };
  /** FreeRADIUS binary, or why there is none. */
  freeradius: { path: string } | { skipped: string };
  /** An operator's server instead of the ones the bench starts (`--server`). */
  external?: ExternalServer;
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
  /** Sample the server's RSS every this many measured authentications. */
  rssEvery?: number;
  /** Registered EAP-NOOB peers to put into Gangway's store before it starts. */
  noobPeers?: number;
  /** Hold this many TEAP conversations in Phase 2 on a Gangway of its own and report the memory. */
  hold?: number;
  /** node options for the Gangway processes (e.g. --cpu-prof); NODE_OPTIONS refuses some of them. */
  gangwayNodeArgs?: string[];
  /** Gangway's `--workers` (threads running EAP conversations); unset: its default. */
  gangwayWorkers?: number;
  /** Gangway's `server.warmup` (authentications per method before it starts); unset: its default. */
  gangwayWarmup?: number;
  /**
   * Open loop for the measured runs: a fixed `rate` (auths/s), or `load` × the rate a closed-loop
   * run with `concurrency` peers reached just before (steady phase only).
   */
  open?: OpenLoadOptions;
}

function openAt(o: OpenLoadOptions, ratePerSecond: number): OpenLoadSettings {
  return { ratePerSecond, process: o.process, maxOutstanding: o.maxOutstanding, seed: o.seed };
}

function fmt(x: number | null | undefined, digits = 1): string {
  return x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** One progress line after a measured run. */
function resultLine(r: TargetResult): string {
  const st = r.serverTime;
  const server = !st ? '' : 'error' in st ? `; server time: ${st.error}` : `; server p99 ≤ ${st.p99LeMs ?? '∞'} ms, ${(st.withinFraction * 100).toFixed(2)} % within ${st.withinMs} ms`;
  const offered = r.offered ? ` (offered ${r.offered.offered} at ${fmt(r.offered.ratePerSecond)}/s, ${r.offered.skipped} skipped)` : '';
  return `  ${r.successes}/${r.attempted} ok${offered}, ${fmt(r.authsPerSecond)} auths/s, ${fmt(r.serverCpuMsPerAuth, 2)} server CPU ms per auth; round trip p50 ${fmt(r.roundTripMs.p50, 2)} p99 ${fmt(r.roundTripMs.p99, 2)} ms${server}`;
}

export type BenchProgress = (line: string) => void;

function ratio(a: number | null, b: number | null): number {
  return a !== null && b !== null && b > 0 ? a / b : NaN;
}

function summarize(runs: RawReference[]): RawReferenceSummary {
  const first = runs[0]!;
  const cpuMsPerOp = runs.reduce((s, r) => s + r.cpuMsPerOp, 0) / runs.length;
  return { name: first.name, description: first.description, cpuMsPerOp, perCpuSecond: cpuMsPerOp > 0 ? 1000 / cpuMsPerOp : 0, runs };
}

/** One server under test, restartable when the bench started it (cold figures need a fresh process). */
interface Slot {
  kind: ServerKind;
  engine?: 'openssl' | 'node';
  start(): Promise<ServerTarget>;
  restartable: boolean;
  credentials: PeerCredentials;
  database?: string;
  current?: ServerTarget;
  /** Authentications have run since the current process started. */
  used: boolean;
}

export async function runBench(opts: BenchOptions, progress: BenchProgress = () => undefined): Promise<BenchReport> {
  if (opts.methods.length === 0 && opts.hold === undefined) throw new Error('no method to benchmark');
  const methods = opts.methods.map((n) => METHODS[n]);
  const dir = mkdtempSync(join(tmpdir(), 'gangway-bench-'));
  // process.exit() skips finally blocks; the directory holds keys and must not outlive us.
  const removeDir = (): void => {
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', removeDir);
  const slots: Slot[] = [];
  const notes: string[] = [];
  try {
    progress(`data directory ${dir}`);
    const fixture = await createBenchFixture(join(dir, 'data'), await freeUdpPort());
    // Before any copy of the data directory is made, so that every Gangway has it.
    if (opts.gangwayWarmup !== undefined) setGangwayWarmup(fixture, opts.gangwayWarmup);
    if (opts.noobPeers !== undefined && opts.noobPeers > 0 && !opts.external) {
      const t0 = performance.now();
      await populateNoobPeers(fixture.init.files.database, opts.noobPeers, (n) => progress(`  ${n} NOOB peers stored`));
      progress(`${opts.noobPeers} registered NOOB peers stored in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
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

    let gangwayVersion: string | undefined;
    let hostapdInfo: ServerInfo = 'skipped' in opts.hostapd ? { skipped: opts.hostapd.skipped } : { skipped: 'no method it serves was selected' };
    let freeradiusInfo: ServerInfo = 'skipped' in opts.freeradius ? { skipped: opts.freeradius.skipped } : { skipped: 'no method it serves was selected' };
    const wanted = (kind: ServerKind): boolean => methods.some((m) => m.servers.includes(kind));
    if (opts.external) {
      const x = opts.external;
      slots.push({
        kind: 'external', restartable: false, credentials: x.credentials, used: false,
        start: async () => ({ kind: 'external', host: x.host, port: x.port, secret: x.secret, ...(x.pid !== undefined ? { pid: x.pid } : {}), ...(x.metricsUrl !== undefined ? { metricsUrl: x.metricsUrl } : {}), version: `${x.host}:${x.port}`, stop: async () => undefined, tail: () => '' }),
      });
      if (opts.phases.includes('cold')) notes.push('cold figures need a server the bench starts itself; none for the external server');
    } else {
      const credentials = fixtureCredentials(fixture);
      if (wanted('gangway')) {
        for (const engine of opts.tlsEngines ?? [undefined]) {
          const f: BenchFixture = engine ? forkBenchFixture(fixture, join(dir, `data-${engine}`), { tlsEngine: engine }) : fixture;
          slots.push({
            kind: 'gangway', ...(engine ? { engine } : {}), restartable: true, credentials, database: f.init.files.database, used: false,
            start: async () => {
              const t = await startGangwayTarget(opts.gangwayMain, f, engine, opts.gangwayNodeArgs, opts.gangwayWorkers);
              gangwayVersion = t.version;
              return t;
            },
          });
        }
      }
      if ('path' in opts.hostapd && wanted('hostapd')) {
        const path = opts.hostapd.path;
        slots.push({
          kind: 'hostapd', restartable: true, credentials, used: false,
          start: async () => {
            const t = await startHostapdTarget(path, fixture, opts.keepDir);
            hostapdInfo = { version: t.version, path };
            return t;
          },
        });
      }
      if ('path' in opts.freeradius && wanted('freeradius')) {
        const path = opts.freeradius.path;
        slots.push({
          kind: 'freeradius', restartable: true, credentials, used: false,
          start: async () => {
            const t = await startFreeradiusTarget(path, fixture, opts.keepDir);
            freeradiusInfo = { version: t.version, path };
            return t;
          },
        });
      }
    }

    const settings: RunSettings = {
      count: opts.count ?? Infinity,
      concurrency: opts.concurrency,
      maxSeconds: opts.durationSeconds ?? opts.maxSeconds,
      authTimeoutMs: opts.authTimeoutMs ?? 30_000,
      ...(opts.rssEvery !== undefined ? { rssEvery: opts.rssEvery } : {}),
    };
    const warmSettings: RunSettings = { ...settings, maxSeconds: opts.maxSeconds };
    const open = opts.open;
    if (open && 'load' in open && opts.phases.includes('cold')) throw new Error('--load measures the maximum first, which warms the server: steady phase only');
    const measuredSettings: RunSettings = open && 'rate' in open ? { ...settings, open: openAt(open, open.rate) } : settings;
    const results: TargetResult[] = [];
    for (const method of methods) {
      for (const slot of slots.filter((s) => method.servers.includes(s.kind))) {
        const label = targetLabel(slot);
        const cold = opts.phases.includes('cold') && slot.restartable;
        if (slot.current && cold && slot.used) {
          await slot.current.stop();
          slot.current = undefined;
        }
        if (!slot.current) {
          slot.current = await slot.start();
          slot.used = false;
          progress(`${slot.current.version}${slot.engine ? ` (TLS engine ${slot.engine})` : ''}${slot.current.pid !== undefined ? ` pid ${slot.current.pid}` : ''} on ${slot.current.host}:${slot.current.port}`);
        }
        const target = slot.current;
        slot.used = true;
        const roundTrips = new RoundTripRecorder();
        // In the open loop every slot up to the bound may be in flight, each its own station (device).
        const concurrency = open ? Math.max(opts.concurrency, open.maxOutstanding) : opts.concurrency;
        const driver = await method.prepare({ target, credentials: slot.credentials, concurrency, roundTrips, ...(slot.database ? { database: slot.database } : {}) });
        try {
          const amount = opts.count !== undefined ? `${opts.count}` : `${opts.durationSeconds} s of`;
          const pace = measuredSettings.open ? `${measuredSettings.open.process} arrivals at ${measuredSettings.open.ratePerSecond}/s, at most ${measuredSettings.open.maxOutstanding} in flight` : `${opts.concurrency} in flight`;
          if (cold) {
            progress(`${method.name} on ${label}, cold: ${amount} measured right after start, ${pace}`);
            const r = await measureRun(method, driver, target, 'cold', { mode: 'none', authentications: 0, windows: [] }, measuredSettings, provisional(method.reference), roundTrips);
            results.push(r);
            progress(resultLine(r));
          }
          if (opts.phases.includes('steady')) {
            progress(`${method.name} on ${label}, steady: warm-up ${opts.warmup.kind === 'fixed' ? opts.warmup.count : 'until settled'}, then ${amount} measured`);
            let warm;
            try {
              warm = await warmUp(method, driver, target, opts.warmup, warmSettings);
            } catch (err) {
              // An operator's server need not have every method: say so and go on with the next.
              if (slot.kind !== 'external' || !(err instanceof WarmupFailed)) throw err;
              notes.push(`${method.name} on ${label}: skipped, ${err.message}`);
              progress(`  skipped: ${err.message}`);
              continue;
            }
            if (warm.mode === 'settle') progress(`  warm-up: ${warm.authentications} authentications, ${warm.settled ? 'settled' : 'NOT settled'}`);
            if (open && 'load' in open) {
              progress(`  maximum: ${amount} closed-loop, ${opts.concurrency} in flight`);
              const max = await measureRun(method, driver, target, 'steady', warm, settings, provisional(method.reference), roundTrips);
              results.push(max);
              progress(resultLine(max));
              if (!(max.authsPerSecond > 0) || max.successes === 0) throw new Error(`${method.name} on ${label}: the closed-loop run completed nothing, no rate to offer`);
              const rate = Math.round(open.load * max.authsPerSecond * 100) / 100;
              progress(`  measured: ${amount} open-loop at ${open.load} × ${max.authsPerSecond.toFixed(1)} = ${rate}/s (${open.process} arrivals, at most ${open.maxOutstanding} in flight)`);
              const r = await measureRun(method, driver, target, 'steady', warm, { ...settings, open: openAt(open, rate) }, provisional(method.reference), roundTrips);
              r.load = { fraction: open.load, saturationAuthsPerSecond: max.authsPerSecond };
              results.push(r);
              progress(resultLine(r));
            } else {
              if (measuredSettings.open) progress(`  measured: ${amount} open-loop, ${pace}`);
              const r = await measureRun(method, driver, target, 'steady', warm, measuredSettings, provisional(method.reference), roundTrips);
              results.push(r);
              progress(resultLine(r));
            }
          }
        } finally {
          await driver.close();
        }
      }
    }
    let held: HeldConversationsResult | undefined;
    if (opts.hold !== undefined) {
      for (const slot of slots) {
        await slot.current?.stop();
        slot.current = undefined;
      }
      held = await measureHeldConversations({ fixture, dir: join(dir, 'data-hold'), gangwayMain: opts.gangwayMain, conversations: opts.hold, concurrency: opts.concurrency, ...(opts.gangwayNodeArgs ? { nodeArgs: opts.gangwayNodeArgs } : {}) }, progress);
    }
    if (held) gangwayVersion ??= held.server;
    await measureRaw('after');

    // Ratios against the mean of the before and after runs of the reference.
    const references: Partial<Record<RawReferenceName, RawReferenceSummary>> = {};
    for (const name of refNames) references[name] = summarize(rawRuns.get(name)!);
    for (const r of results) r.cpuPerAuthOverRaw = r.serverCpuMsPerAuth !== null ? ratio(r.serverCpuMsPerAuth, references[r.reference]!.cpuMsPerOp) : null;
    const comparisons: Comparison[] = [];
    const pairs: [BenchMethodName, BenchMethodName][] = [...methods.map((m): [BenchMethodName, BenchMethodName] => [m.name, m.name]), ...CROSS_PAIRS.filter(([a, b]) => opts.methods.includes(a) && opts.methods.includes(b))];
    for (const [gm, rm] of pairs) {
      for (const against of ['hostapd', 'freeradius'] as const) {
        for (const phase of opts.phases) {
          // Like with like: a closed-loop run against the other's closed-loop run, open against open.
          for (const g of results.filter((r) => r.method === gm && r.server === 'gangway' && r.phase === phase)) {
            const ref = results.find((r) => r.method === rm && r.server === against && r.phase === phase && r.loop === g.loop);
            if (!ref) continue;
            comparisons.push({
              method: gm,
              ...(g.engine ? { engine: g.engine } : {}),
              phase,
              ...(g.loop === 'open' ? { loop: 'open' as const } : {}),
              against: { server: against, method: rm },
              cpuPerAuth: ratio(g.serverCpuMsPerAuth, ref.serverCpuMsPerAuth),
              authsPerSecond: ratio(g.authsPerSecond, ref.authsPerSecond),
              latencyP50: ratio(g.latencyMs.p50, ref.latencyMs.p50),
              roundTripP99: ratio(g.roundTripMs.p99, ref.roundTripMs.p99),
            });
          }
        }
      }
    }
    // Skipped arrivals are no failed authentication, but the offered load was not carried: say so.
    for (const r of results) {
      const o = r.offered;
      if (o && o.skipped > 0) notes.push(`${r.method} on ${targetLabel(r)}: ${o.skipped} of ${o.offered} arrivals skipped (${o.maxOutstanding} in flight, --max-outstanding): the offered ${o.ratePerSecond}/s was not carried`);
      if (r.serverTime && 'error' in r.serverTime) notes.push(`${r.method} on ${targetLabel(r)}: no server time (${r.serverTime.error})`);
    }
    const cpu = cpus();
    const w = opts.warmup;
    return {
      tool: 'gangway bench',
      date: new Date().toISOString(),
      machine: { nproc: availableParallelism(), cpuModel: cpu[0]?.model.trim() ?? 'unknown', node: process.version, platform: process.platform, kernel: release(), clkTck: clockTicksPerSecond() },
      settings: {
        methods: opts.methods,
        count: opts.count ?? null,
        ...(opts.durationSeconds !== undefined ? { durationSeconds: opts.durationSeconds } : {}),
        concurrency: opts.concurrency,
        phases: opts.phases,
        warmup: w.kind === 'fixed' ? w.count : { settle: w.rule, window: w.window, maxAuthentications: w.maxAuthentications },
        maxSeconds: opts.maxSeconds,
        ...(opts.rssEvery !== undefined ? { rssEvery: opts.rssEvery } : {}),
        ...(opts.noobPeers !== undefined ? { noobPeers: opts.noobPeers } : {}),
        ...(open ? { open } : {}),
      },
      servers: {
        ...(gangwayVersion ? { gangway: { version: gangwayVersion, ...(opts.tlsEngines ? { engines: opts.tlsEngines } : {}), startupWarmup: opts.gangwayWarmup ?? DEFAULT_WARMUP } } : {}),
        hostapd: hostapdInfo,
        freeradius: freeradiusInfo,
        ...(opts.external ? { external: { address: `${opts.external.host}:${opts.external.port}`, ...(opts.external.pid !== undefined ? { pid: opts.external.pid } : {}) } } : {}),
      },
      references,
      results,
      comparisons,
      ...(held ? { held } : {}),
      notes,
      allSucceeded: results.every((r) => r.failures === 0 && !r.stoppedEarly && r.successes === r.attempted) && (!held || held.held === held.requested),
    };
  } finally {
    for (const s of slots.reverse()) await s.current?.stop().catch(() => undefined);
    removeDir();
    process.off('exit', removeDir);
  }
}
