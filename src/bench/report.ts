/** The benchmark's result: one JSON-friendly object (`--json`), and its rendering as a table. */
import type { LatencySummary } from './latency.js';
import type { BenchMethodName } from './method.js';
import type { RawReference, RawReferenceName } from './raw-reference.js';

export interface RawReferenceSummary {
  name: RawReferenceName;
  description: string;
  /** Mean of the runs: CPU milliseconds per operation (both ends). */
  cpuMsPerOp: number;
  perCpuSecond: number;
  /** Measured before and after the servers ran; their difference shows how steady the machine was. */
  runs: RawReference[];
}

export interface TargetResult {
  method: BenchMethodName;
  server: 'gangway' | 'hostapd';
  /** Gangway's TLS engine, when the bench chose it (`--tls-engine`). */
  engine?: 'openssl' | 'node';
  /** Measured authentications (warm-up excluded). */
  attempted: number;
  successes: number;
  failures: number;
  failureReasons: Record<string, number>;
  stoppedEarly: boolean;
  wallSeconds: number;
  authsPerSecond: number;
  latencyMs: LatencySummary;
  roundsPerAuth: number;
  serverCpuSeconds: number;
  serverCpuMsPerAuth: number;
  serverRssKb: { before: number; after: number; peak: number };
  /** The load generator's CPU time; `loadCpuShare` near 1 means the load, not the server, set the pace. */
  loadCpuSeconds: number;
  loadCpuShare: number;
  serverCpuShare: number;
  reference: RawReferenceName;
  /** Server CPU per authentication ÷ raw reference CPU per operation. */
  cpuPerAuthOverRaw: number;
}

export interface Comparison {
  method: BenchMethodName;
  engine?: 'openssl' | 'node';
  /** Gangway ÷ hostapd. Above 1: Gangway spends more CPU per authentication. */
  cpuPerAuth: number;
  /** Gangway ÷ hostapd. Below 1: Gangway completed fewer per second. */
  authsPerSecond: number;
  latencyP50: number;
}

export interface BenchReport {
  tool: 'gangway bench';
  date: string;
  machine: { nproc: number; cpuModel: string; node: string; platform: string; kernel: string; clkTck: number };
  settings: { methods: BenchMethodName[]; count: number; concurrency: number; warmup: number; maxSeconds: number };
  servers: {
    gangway: { version: string; engines?: ('openssl' | 'node')[] };
    hostapd: { version: string; path: string } | { skipped: string };
  };
  references: Partial<Record<RawReferenceName, RawReferenceSummary>>;
  results: TargetResult[];
  comparisons: Comparison[];
  /** True when every measured authentication succeeded. */
  allSucceeded: boolean;
}

const serverLabel = (t: TargetResult): string => (t.engine ? `${t.server}/${t.engine}` : t.server);

const fixed = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** Text columns first (left-aligned), numbers after them (right-aligned). */
function table(header: string[], rows: string[][], textColumns = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`gangway bench  ${r.date}  node ${m.node}  ${m.nproc} CPU(s) ${m.cpuModel}  ${m.platform} ${m.kernel}`);
  const hostapd = 'skipped' in r.servers.hostapd ? `hostapd: skipped (${r.servers.hostapd.skipped})` : `${r.servers.hostapd.version} (${r.servers.hostapd.path})`;
  const engines = r.servers.gangway.engines ? ` (TLS engines: ${r.servers.gangway.engines.join(', ')})` : '';
  out.push(`servers: ${r.servers.gangway.version}${engines}, ${hostapd}`);
  out.push(`settings: count ${r.settings.count}, concurrency ${r.settings.concurrency}, warm-up ${r.settings.warmup} per target`);
  out.push('');
  out.push('Raw references (this process, both ends, one at a time; measured before and after the servers):');
  out.push(
    table(
      ['ref', 'operation', 'CPU ms/op', 'ops/CPU-s', 'before', 'after'],
      Object.values(r.references).map((x) => [x.name, x.description, fixed(x.cpuMsPerOp, 3), fixed(x.perCpuSecond, 0), fixed(x.runs[0]?.cpuMsPerOp ?? NaN, 3), fixed(x.runs[1]?.cpuMsPerOp ?? NaN, 3)]),
    ),
  );
  out.push('');
  out.push('Per server (CPU = server process utime+stime; ×raw = server CPU per auth ÷ raw CPU per op):');
  out.push(
    table(
      ['method', 'server', 'ok/total', 'auths/s', 'p50 ms', 'p95 ms', 'p99 ms', 'rounds', 'CPU ms/auth', '×raw', 'RSS MB before→after', 'srv CPU %', 'load CPU %'],
      r.results.map((t) => [
        t.method,
        serverLabel(t),
        `${t.successes}/${t.attempted}`,
        fixed(t.authsPerSecond, 1),
        fixed(t.latencyMs.p50, 1),
        fixed(t.latencyMs.p95, 1),
        fixed(t.latencyMs.p99, 1),
        fixed(t.roundsPerAuth, 1),
        fixed(t.serverCpuMsPerAuth, 2),
        `${fixed(t.cpuPerAuthOverRaw, 2)} ${t.reference}`,
        `${fixed(t.serverRssKb.before / 1024, 1)}→${fixed(t.serverRssKb.after / 1024, 1)}`,
        fixed(t.serverCpuShare * 100, 0),
        fixed(t.loadCpuShare * 100, 0),
      ]),
    ),
  );
  if (r.comparisons.length > 0) {
    out.push('');
    out.push('Gangway ÷ hostapd:');
    out.push(
      table(
        ['method', 'CPU/auth', 'auths/s', 'p50'],
        r.comparisons.map((c) => [c.engine ? `${c.method} (${c.engine})` : c.method, `×${fixed(c.cpuPerAuth)}`, `×${fixed(c.authsPerSecond)}`, `×${fixed(c.latencyP50)}`]),
        1,
      ),
    );
  }
  const failed = r.results.filter((t) => t.failures > 0 || t.stoppedEarly);
  if (failed.length > 0) {
    out.push('');
    for (const t of failed) {
      out.push(`${t.method} on ${serverLabel(t)}: ${t.failures} failed${t.stoppedEarly ? ', stopped at the time limit' : ''}`);
      for (const [reason, n] of Object.entries(t.failureReasons)) out.push(`  ${n} × ${reason}`);
    }
  }
  return out.join('\n') + '\n';
}
