/** The benchmark's result: one JSON-friendly object (`--json`), and its rendering as a table. */
import type { LatencySummary } from './latency.js';
import type { OfferedLoad, OpenLoadOptions } from './load.js';
import type { RoundTripSummary } from './round-trips.js';
import type { ServerTimeSummary } from './server-timing.js';
import type { BenchMethodName } from './method.js';
import type { RawReference, RawReferenceName } from './raw-reference.js';
import type { SettleRule } from './settle.js';
import { targetLabel, type ServerKind } from './target.js';

export interface RawReferenceSummary {
  name: RawReferenceName;
  description: string;
  /** Mean of the runs: CPU milliseconds per operation (both ends). */
  cpuMsPerOp: number;
  perCpuSecond: number;
  /** Measured before and after the servers ran; their difference shows how steady the machine was. */
  runs: RawReference[];
}

export interface RssSample {
  /** Measured authentications finished when the sample was taken. */
  authentications: number;
  /** Seconds since the measured run began. */
  seconds: number;
  rssKb: number;
}

export interface WarmupWindow {
  authentications: number;
  /** Server CPU ms per authentication in this window; null when the server's CPU cannot be read. */
  cpuMsPerAuth: number | null;
  meanLatencyMs: number;
}

/** What happened before the measured run. */
export interface WarmupRecord {
  /** none: measured right after the server started (cold); fixed: `--warmup N`; settle: until CPU per auth settled. */
  mode: 'none' | 'fixed' | 'settle';
  authentications: number;
  windows: WarmupWindow[];
  /** settle: whether the windows settled before the warm-up limit. */
  settled?: boolean;
  /** settle: on server CPU per auth, or on mean latency when the server's CPU cannot be read. */
  settledOn?: 'cpu' | 'latency';
  rule?: SettleRule;
}

export interface TargetResult {
  method: BenchMethodName;
  server: ServerKind;
  /** Gangway's TLS engine, when the bench chose it (`--tls-engine`). */
  engine?: 'openssl' | 'node';
  /** cold: the first authentications of this method after the server started; steady: after the warm-up. */
  phase: 'cold' | 'steady';
  warmup: WarmupRecord;
  /** Measured authentications (warm-up excluded). */
  attempted: number;
  successes: number;
  failures: number;
  failureReasons: Record<string, number>;
  stoppedEarly: boolean;
  wallSeconds: number;
  authsPerSecond: number;
  /** Whole conversations; in the open loop from the arrival time, so the generator's lag is in it. */
  latencyMs: LatencySummary;
  roundsPerAuth: number;
  /** RADIUS round trips of the measured conversations (their `rounds` added up). */
  totalRounds: number;
  /** Each RADIUS round trip at the load generator: request handed to the client → reply verified. */
  roundTripMs: RoundTripSummary;
  /**
   * Gangway's own time per request (its histogram, scraped before and after the run); an error
   * when a scrape failed; absent for a server without a metrics page.
   */
  serverTime?: ServerTimeSummary | { error: string };
  /** closed: `concurrency` peers, each starting when its last ended; open: arrivals at a rate. */
  loop: 'closed' | 'open';
  /** Open loop: the offered rate and what became of it. */
  offered?: OfferedLoad;
  /** `--load F`: this open-loop run is at F × the closed-loop rate measured just before it. */
  load?: { fraction: number; saturationAuthsPerSecond: number };
  /** Null: the server's process is unknown (an external server without --server-pid). */
  serverCpuSeconds: number | null;
  serverCpuMsPerAuth: number | null;
  serverRssKb: { before: number; after: number; peak: number } | null;
  /** `--rss-every N`: the server's RSS at the start and every N authentications of the measured run. */
  rssSamples?: RssSample[];
  /** The load generator's CPU time; `loadCpuShare` near 1 means the load, not the server, set the pace. */
  loadCpuSeconds: number;
  loadCpuShare: number;
  serverCpuShare: number | null;
  reference: RawReferenceName;
  /** Server CPU per authentication ÷ raw reference CPU per operation. */
  cpuPerAuthOverRaw: number | null;
}

/** Gangway against a reference server in the same phase: the same method, or the password-in-tunnel pair. */
export interface Comparison {
  method: BenchMethodName;
  engine?: 'openssl' | 'node';
  phase: 'cold' | 'steady';
  /** Both runs open-loop (their auths/s is then the offered rate, not a capacity). */
  loop?: 'open';
  against: { server: 'hostapd' | 'freeradius'; method: BenchMethodName };
  /** Gangway ÷ reference. Above 1: Gangway spends more CPU per authentication. */
  cpuPerAuth: number;
  /** Gangway ÷ reference. Below 1: Gangway completed fewer per second. */
  authsPerSecond: number;
  latencyP50: number;
  /** p99 of one RADIUS round trip at the generator, Gangway ÷ reference. */
  roundTripP99: number;
}

/** `--hold N`: N TEAP conversations parked in Phase 2 at once, and what they cost in server memory. */
export interface HeldConversationsResult {
  server: string;
  requested: number;
  /** Conversations that reached Phase 2 and were left there. */
  held: number;
  failures: number;
  failureReasons: Record<string, number>;
  setupSeconds: number;
  /** The gangway.yaml settings the run used to make room for them. */
  settings: Record<string, number>;
  rssKb: { before: number; held: number; afterWait: number; peak: number };
  waitSeconds: number;
  /** (RSS with all held − RSS before) ÷ held, KiB. */
  kibPerConversation: number;
}

export type ServerInfo = { version: string; path: string } | { skipped: string };

export interface BenchReport {
  tool: 'gangway bench';
  date: string;
  machine: { nproc: number; cpuModel: string; node: string; platform: string; kernel: string; clkTck: number };
  settings: {
    methods: BenchMethodName[];
    /** Null with `--duration`. */
    count: number | null;
    durationSeconds?: number;
    concurrency: number;
    phases: ('cold' | 'steady')[];
    /** Fixed warm-up (`--warmup`), or the settle rule. */
    warmup: number | { settle: SettleRule; window: number; maxAuthentications: number };
    maxSeconds: number;
    rssEvery?: number;
    /** `--peers N`: registered EAP-NOOB peers put into Gangway's store before it started. */
    noobPeers?: number;
    /** `--rate` or `--load`: the measured runs are open-loop. */
    open?: OpenLoadOptions;
  };
  servers: {
    /** `startupWarmup`: its server.warmup, authentications per method run before it listened. */
    gangway?: { version: string; engines?: ('openssl' | 'node')[]; startupWarmup?: number };
    hostapd: ServerInfo;
    freeradius: ServerInfo;
    external?: { address: string; pid?: number };
  };
  references: Partial<Record<RawReferenceName, RawReferenceSummary>>;
  results: TargetResult[];
  comparisons: Comparison[];
  held?: HeldConversationsResult;
  notes: string[];
  /** True when every measured authentication succeeded. */
  allSucceeded: boolean;
}

const serverLabel = (t: TargetResult): string => targetLabel(t);

/** "steady" for a closed-loop run; "steady@0.8" at a share of the maximum, "steady@50/s" at a fixed rate. */
function phaseLabel(t: TargetResult): string {
  if (t.loop !== 'open' || !t.offered) return t.phase;
  return t.load ? `${t.phase}@${t.load.fraction}` : `${t.phase}@${+t.offered.ratePerSecond.toFixed(2)}/s`;
}

function serverTimeCells(t: TargetResult): string[] {
  const st = t.serverTime;
  if (!st) return ['-', '-', '-', '-'];
  if ('error' in st) return ['error', '-', '-', '-'];
  const le = (x: number | null): string => (x === null ? '>max' : `≤${x}`);
  return [String(st.requests), le(st.p50LeMs), le(st.p99LeMs), `${(st.withinFraction * 100).toFixed(2)} %≤${st.withinMs}`];
}

const fixed = (x: number | null | undefined, digits = 2): string => (x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '-');

/** Text columns first (left-aligned), numbers after them (right-aligned). */
function table(header: string[], rows: string[][], textColumns = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function serverInfo(name: string, s: ServerInfo): string {
  return 'skipped' in s ? `${name}: skipped (${s.skipped})` : `${s.version} (${s.path})`;
}

function warmupText(w: WarmupRecord): string {
  if (w.mode === 'none') return 'none';
  if (w.mode === 'fixed') return String(w.authentications);
  return `${w.authentications}${w.settled ? '' : ' unsettled'}`;
}

/** At most `max` samples, evenly spaced, always with the first and the last. */
function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const step = (xs.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => xs[Math.round(i * step)]!);
}

/** RSS growth (KiB) over the first and the second half of a run's samples, split at the middle sample. */
export function rssHalves(samples: readonly RssSample[]): { first: number; second: number } | undefined {
  if (samples.length < 3) return undefined;
  const mid = samples[Math.floor((samples.length - 1) / 2)]!;
  return { first: mid.rssKb - samples[0]!.rssKb, second: samples[samples.length - 1]!.rssKb - mid.rssKb };
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`gangway bench  ${r.date}  node ${m.node}  ${m.nproc} CPU(s) ${m.cpuModel}  ${m.platform} ${m.kernel}`);
  const servers: string[] = [];
  if (r.servers.gangway) {
    const g = r.servers.gangway;
    servers.push(`${g.version}${g.engines ? ` (TLS engines: ${g.engines.join(', ')})` : ''}${g.startupWarmup !== undefined ? ` (server.warmup ${g.startupWarmup})` : ''}`);
  }
  servers.push(serverInfo('hostapd', r.servers.hostapd), serverInfo('freeradius', r.servers.freeradius));
  if (r.servers.external) servers.push(`external ${r.servers.external.address}${r.servers.external.pid !== undefined ? ` (pid ${r.servers.external.pid})` : ' (no pid: CPU and RSS not measured)'}`);
  out.push(`servers: ${servers.join(', ')}`);
  const s = r.settings;
  const warm = typeof s.warmup === 'number' ? `${s.warmup} warm-up` : `warm-up until CPU/auth of ${s.warmup.settle.windows} windows is within ±${Math.round(s.warmup.settle.tolerance * 100)} % (window ${s.warmup.window}, at most ${s.warmup.maxAuthentications})`;
  const o = s.open;
  const open = !o ? '' : `, open loop: ${'rate' in o ? `${o.rate} auths/s` : `${o.load} × the closed-loop maximum`}, ${o.process} arrivals (seed ${o.seed}), at most ${o.maxOutstanding} in flight`;
  if (s.methods.length > 0) out.push(
    `settings: ${s.count !== null ? `count ${s.count}` : `duration ${s.durationSeconds} s`}, concurrency ${s.concurrency}, phases ${s.phases.join('+')}, ${warm}` +
      `${s.rssEvery !== undefined ? `, RSS every ${s.rssEvery}` : ''}${s.noobPeers !== undefined ? `, ${s.noobPeers} NOOB peers in the store` : ''}${open}`,
  );
  out.push('');
  if (Object.keys(r.references).length > 0) {
    out.push('Raw references (this process, both ends, one at a time; measured before and after the servers):');
    out.push(
      table(
        ['ref', 'operation', 'CPU ms/op', 'ops/CPU-s', 'before', 'after'],
        Object.values(r.references).map((x) => [x.name, x.description, fixed(x.cpuMsPerOp, 3), fixed(x.perCpuSecond, 0), fixed(x.runs[0]?.cpuMsPerOp ?? NaN, 3), fixed(x.runs[1]?.cpuMsPerOp ?? NaN, 3)]),
      ),
    );
    out.push('');
  }
  if (r.results.length > 0) {
    out.push('Per server (CPU = server process utime+stime; ×raw = server CPU per auth ÷ raw CPU per op; cold = right after start, steady = after the warm-up):');
    out.push(
      table(
        ['method', 'server', 'phase', 'warm-up', 'ok/total', 'auths/s', 'p50 ms', 'p95 ms', 'p99 ms', 'rounds', 'CPU ms/auth', '×raw', 'RSS MB before→after', 'srv CPU %', 'load CPU %'],
        r.results.map((t) => [
          t.method,
          serverLabel(t),
          phaseLabel(t),
          warmupText(t.warmup),
          `${t.successes}/${t.attempted}`,
          fixed(t.authsPerSecond, 1),
          fixed(t.latencyMs.p50, 1),
          fixed(t.latencyMs.p95, 1),
          fixed(t.latencyMs.p99, 1),
          fixed(t.roundsPerAuth, 1),
          fixed(t.serverCpuMsPerAuth, 2),
          `${fixed(t.cpuPerAuthOverRaw, 2)} ${t.reference}`,
          t.serverRssKb ? `${fixed(t.serverRssKb.before / 1024, 1)}→${fixed(t.serverRssKb.after / 1024, 1)}` : '-',
          fixed(t.serverCpuShare !== null ? t.serverCpuShare * 100 : null, 0),
          fixed(t.loadCpuShare * 100, 0),
        ]),
        4,
      ),
    );
  }
  if (r.results.length > 0) {
    out.push('');
    out.push(
      'Per RADIUS round trip (generator: request sent → reply verified, every exchange; server: Gangway\'s own histogram, datagram read → reply sent,\n' +
        'as "≤ bucket bound" ms; open loop: arrivals at the offered rate, skipped = arrivals that found every slot busy):',
    );
    out.push(
      table(
        ['method', 'server', 'phase', 'offered/s', 'skipped', 'peak', 'lag p99', 'round trips', 'rt p50', 'rt p95', 'rt p99', 'rt max', 'no reply', 'srv reqs', 'srv p50', 'srv p99', 'srv within'],
        r.results.map((t) => [
          t.method,
          serverLabel(t),
          phaseLabel(t),
          t.offered ? fixed(t.offered.achievedRatePerSecond, 1) : '-',
          t.offered ? String(t.offered.skipped) : '-',
          t.offered ? String(t.offered.peakOutstanding) : '-',
          t.offered ? fixed(t.offered.startLagMs.p99, 1) : '-',
          String(t.roundTripMs.count),
          fixed(t.roundTripMs.p50, 2),
          fixed(t.roundTripMs.p95, 2),
          fixed(t.roundTripMs.p99, 2),
          fixed(t.roundTripMs.max, 1),
          String(t.roundTripMs.unanswered),
          ...serverTimeCells(t),
        ]),
        3,
      ),
    );
  }
  const settles = r.results.filter((t) => t.warmup.mode === 'settle');
  if (settles.length > 0) {
    out.push('');
    out.push('Warm-up windows (server CPU ms per auth, or mean latency ms when settled on latency):');
    for (const t of settles) {
      const values = t.warmup.windows.map((w) => (t.warmup.settledOn === 'cpu' ? fixed(w.cpuMsPerAuth, 2) : fixed(w.meanLatencyMs, 1)));
      out.push(`  ${t.method} on ${serverLabel(t)}: ${thin(values, 24).join(' ')}${t.warmup.settled ? '' : '  (not settled)'}`);
    }
  }
  const sampled = r.results.filter((t) => t.rssSamples && t.rssSamples.length > 0);
  if (sampled.length > 0) {
    out.push('');
    out.push('Server RSS during the measured run (MB at authentications done; JSON has every sample):');
    for (const t of sampled) {
      const xs = thin(t.rssSamples!, 16).map((x) => `${x.authentications}:${fixed(x.rssKb / 1024, 1)}`);
      out.push(`  ${t.method} on ${serverLabel(t)} (${t.phase}): ${xs.join(' ')}`);
      const halves = rssHalves(t.rssSamples!);
      if (halves) out.push(`    growth: ${fixed(halves.first / 1024, 1)} MB over the first half of the run, ${fixed(halves.second / 1024, 1)} MB over the second (a plateau: the second near 0)`);
    }
  }
  if (r.comparisons.length > 0) {
    out.push('');
    out.push('Gangway ÷ reference server (same phase):');
    out.push(
      table(
        ['gangway method', 'against', 'phase', 'CPU/auth', 'auths/s', 'p50', 'rt p99'],
        r.comparisons.map((c) => [
          c.engine ? `${c.method} (${c.engine})` : c.method,
          c.against.method === c.method ? c.against.server : `${c.against.server} ${c.against.method}`,
          c.loop === 'open' ? `${c.phase} open` : c.phase,
          `×${fixed(c.cpuPerAuth)}`,
          `×${fixed(c.authsPerSecond)}`,
          `×${fixed(c.latencyP50)}`,
          `×${fixed(c.roundTripP99)}`,
        ]),
        3,
      ),
    );
  }
  if (r.held) {
    const h = r.held;
    out.push('');
    out.push(`Held TEAP conversations (parked in Phase 2) on ${h.server}, settings ${Object.entries(h.settings).map(([k, v]) => `${k}=${v}`).join(' ')}:`);
    out.push(
      `  ${h.held}/${h.requested} held after ${fixed(h.setupSeconds, 1)} s; RSS ${fixed(h.rssKb.before / 1024, 1)} MB before → ${fixed(h.rssKb.held / 1024, 1)} MB held` +
        ` → ${fixed(h.rssKb.afterWait / 1024, 1)} MB after ${h.waitSeconds} s more (peak ${fixed(h.rssKb.peak / 1024, 1)}); ${fixed(h.kibPerConversation, 1)} KiB per conversation`,
    );
    for (const [reason, n] of Object.entries(h.failureReasons)) out.push(`  ${n} × ${reason}`);
  }
  const failed = r.results.filter((t) => t.failures > 0 || t.stoppedEarly);
  if (failed.length > 0) {
    out.push('');
    for (const t of failed) {
      out.push(`${t.method} on ${serverLabel(t)} (${phaseLabel(t)}): ${t.failures} failed${t.stoppedEarly ? ', stopped at the time limit' : ''}`);
      for (const [reason, n] of Object.entries(t.failureReasons)) out.push(`  ${n} × ${reason}`);
    }
  }
  if (r.notes.length > 0) {
    out.push('');
    for (const n of r.notes) out.push(`note: ${n}`);
  }
  return out.join('\n') + '\n';
}
