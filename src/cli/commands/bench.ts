import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BENCH_METHODS, METHOD_SERVERS, type BenchMethodName, type PeerCredentials } from '../../bench/method.js';
import { defaultFreeradiusPath, defaultHostapdPath, gangwayMainPath, isExecutable } from '../../bench/locate.js';
import { formatReport } from '../../bench/report.js';
import { runBench, type BenchOptions, type ExternalServer } from '../../bench/runner.js';
import { DEFAULT_SETTLE_RULE } from '../../bench/settle.js';
import { ARRIVAL_PROCESSES, type ArrivalProcess } from '../../bench/arrivals.js';
import type { OpenLoadOptions } from '../../bench/load.js';
import { parseServer } from '../server-address.js';
import { MAX_WARMUP } from '../../config/config.js';
import type { CliIo } from '../io.js';
import { SetupError, UsageError, defineCommand, runCommand, type OptionValues } from '../command.js';

export const spec = defineCommand({
  name: 'bench',
  summary: 'measure authentications/s, CPU and memory against raw crypto, hostapd and FreeRADIUS',
  synopsis: [
    'bench [--method NAME[,NAME...]|all] [--count N|--duration S] [--concurrency C] [--phase cold,steady] [--json]',
    'bench [--rate R|--load F] [--arrivals poisson|even] [--max-outstanding M] ...',
    'bench --server HOST:PORT --secret S [--server-pid PID] [--tls-ca F --tls-cert F --tls-key F] [--user U --password P] ...',
    'bench --hold N',
  ],
  description:
    'Measures Gangway (a child process on a free loopback port, its own temporary data directory) under\n' +
    'our own peers\' load, next to the raw crypto cost and, when available, hostapd 2.10 with the same\n' +
    'certificates and account; or any RADIUS server given with --server. See docs/benchmarks.md.',
  options: {
    method: { type: 'string', multiple: true, value: 'M', help: `${BENCH_METHODS.join(', ')} or all (default all; repeatable or comma-separated)` },
    count: { type: 'string', value: 'N', help: 'measured authentications per method, server and phase (default 200)' },
    duration: { type: 'string', value: 'S', help: 'measure for S seconds instead of a count' },
    concurrency: { type: 'string', value: 'C', help: 'conversations in flight (default 8, at most 200)' },
    phase: { type: 'string', value: 'P', help: 'cold (right after the server started), steady (after the warm-up) or both\n(default cold,steady)' },
    rate: { type: 'string', value: 'R', help: 'open loop: new authentications arrive at R per second whatever the server\'s pace\n(the measured runs; the warm-up stays closed-loop)' },
    load: { type: 'string', value: 'F', help: 'open loop at F × the maximum: a closed-loop run with C in flight measures the\nauths/s first, then the measured run offers F times that (steady phase only)' },
    arrivals: { type: 'string', value: 'P', help: 'open loop: poisson (default; independent stations) or even (constant spacing)' },
    'max-outstanding': { type: 'string', value: 'M', help: 'open loop: at most M authentications in flight; arrivals beyond are skipped and\ncounted (default 200, at most 200)' },
    seed: { type: 'string', value: 'N', help: 'open loop: seed of the Poisson arrival times (default 1)' },
    warmup: { type: 'string', value: 'N', help: 'steady phase: a fixed warm-up of N authentications instead of warming up until\nCPU per auth settles' },
    'settle-window': { type: 'string', value: 'N', help: 'authentications per warm-up window (default max(100, 10 × C); grows while a window\nspans fewer than 50 CPU ticks)' },
    'settle-tolerance': { type: 'string', value: 'F', help: 'settled: the last 3 windows within ±F of their mean (default 0.1)' },
    'settle-max': { type: 'string', value: 'N', help: 'give up settling after N warm-up authentications (default 5000; reported as unsettled)' },
    'rss-every': { type: 'string', value: 'N', help: 'sample the server\'s RSS every N measured authentications (long runs: does it plateau?)' },
    peers: { type: 'string', value: 'N', help: 'put N registered EAP-NOOB peers into Gangway\'s store before it starts' },
    hold: { type: 'string', value: 'N', help: 'hold N TEAP conversations in Phase 2 on a Gangway of its own and report RSS per\nconversation (alone, or after the methods given with --method)' },
    hostapd: { type: 'string', value: 'PATH', help: 'hostapd binary (default .tools/hostap/hostapd when present)' },
    'no-hostapd': { type: 'boolean', help: 'no hostapd' },
    freeradius: { type: 'string', value: 'PATH', help: 'FreeRADIUS 3.2 binary (default freeradius or radiusd on PATH, /usr/sbin)' },
    'no-freeradius': { type: 'boolean', help: 'no FreeRADIUS' },
    server: { type: 'string', value: 'HOST:PORT', help: 'measure this RADIUS server instead of starting Gangway and the reference servers' },
    secret: { type: 'string', value: 'S', help: 'its shared secret (--server; this host must be one of its clients)' },
    'server-pid': { type: 'string', value: 'PID', help: 'its process on this machine: CPU and RSS from /proc (without it: latency and rate only)' },
    'server-metrics': { type: 'string', value: 'URL', help: '--server is a Gangway: its /metrics (health.listen), for its own time per request' },
    'tls-ca': { type: 'string', value: 'FILE', help: '--server: CA (PEM) of the server\'s certificate' },
    'tls-cert': { type: 'string', value: 'FILE', help: '--server: client certificate (PEM) for EAP-TLS' },
    'tls-key': { type: 'string', value: 'FILE', help: '--server: its private key (PEM)' },
    'tls-identity': { type: 'string', value: 'ID', help: '--server: EAP-TLS identity (default: the certificate\'s CN)' },
    'server-name': { type: 'string', value: 'NAME', help: '--server: name the server\'s certificate must carry (default: only the chain is checked)' },
    user: { type: 'string', value: 'NAME', help: '--server: account for TEAP-MSCHAPv2 and PEAP-MSCHAPv2' },
    password: { type: 'string', value: 'P', help: '--server: its password' },
    'teap-identity': { type: 'string', value: 'ID', help: '--server: outer identity for TEAP (default anonymous)' },
    'peap-identity': { type: 'string', value: 'ID', help: '--server: outer identity for PEAP (default anonymous)' },
    'max-seconds': { type: 'string', value: 'S', help: 'per method and server: start no authentication after S seconds (default 300)' },
    'raw-seconds': { type: 'string', value: 'S', help: 'wall time of each raw reference measurement (default 2)' },
    json: { type: 'boolean', help: 'one JSON object on stdout instead of the table' },
    keep: { type: 'boolean', help: 'keep the temporary directories' },
    'gangway-main': { type: 'string', value: 'F', help: 'the dist/cli/main.js to run as the server (default: this Gangway\'s)' },
    'gangway-node-args': { type: 'string', value: 'ARGS', help: 'node options for the Gangway servers, space-separated, e.g.\n--gangway-node-args="--cpu-prof --cpu-prof-dir=DIR"' },
    workers: { type: 'string', value: 'N', help: 'Gangway\'s --workers: threads running EAP conversations (default 1)' },
    'gangway-warmup': { type: 'string', value: 'N', help: 'Gangway\'s server.warmup: authentications per method it runs on a throwaway server\nbefore it starts (default: its own default; 0: none)' },
    'tls-engine': { type: 'string', value: 'E', help: 'openssl, node or both (openssl,node): one Gangway per TLS engine, side by side\n(default: one Gangway with its default engine)' },
  },
  epilog: 'Exit status: 0 every authentication succeeded, 1 some failed, 2 usage, 3 error.',
});

function positiveInt(value: string | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer ≥ ${min}`);
  return n;
}

function positiveNumber(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number`);
  return n;
}

/** `gangway bench`: see the definition above and docs/benchmarks.md. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values: v }) => measure(benchOptions(v), v.json, io));
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${option} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** --server and its credentials; undefined without --server. */
function externalServer(v: OptionValues<typeof spec.options>): ExternalServer | undefined {
  const serverOnly = ['secret', 'server-pid', 'server-metrics', 'tls-ca', 'tls-cert', 'tls-key', 'tls-identity', 'server-name', 'user', 'password', 'teap-identity', 'peap-identity'] as const;
  if (v.server === undefined) {
    const stray = serverOnly.find((k) => v[k] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --server`);
    return undefined;
  }
  const address = parseServer(v.server);
  if (!address) throw new UsageError('--server must be HOST:PORT or [IPv6]:PORT');
  if (v.secret === undefined || v.secret === '') throw new UsageError('--server needs --secret');
  if (v['tls-ca'] === undefined) throw new UsageError('--server needs --tls-ca (the CA of the server\'s certificate)');
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if ((v.user === undefined) !== (v.password === undefined)) throw new UsageError('--user and --password go together');
  let tls: PeerCredentials['tls'];
  if (v['tls-cert'] !== undefined && v['tls-key'] !== undefined) {
    const certPem = readPem(v['tls-cert'], '--tls-cert');
    let identity = v['tls-identity'];
    if (identity === undefined) {
      try {
        identity = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(certPem).subject)?.[1];
      } catch {
        throw new UsageError(`--tls-cert ${v['tls-cert']} is not a PEM certificate`);
      }
      if (identity === undefined) throw new UsageError('--tls-cert has no CN: give --tls-identity');
    }
    tls = { certPem, keyPem: readPem(v['tls-key'], '--tls-key'), identity };
  }
  return {
    host: address.host,
    port: address.port,
    secret: v.secret,
    ...(v['server-pid'] !== undefined ? { pid: positiveInt(v['server-pid'], 0, '--server-pid') } : {}),
    ...(v['server-metrics'] !== undefined ? { metricsUrl: metricsUrl(v['server-metrics']) } : {}),
    credentials: {
      caPem: readPem(v['tls-ca'], '--tls-ca'),
      ...(v['server-name'] !== undefined ? { serverName: v['server-name'] } : {}),
      ...(tls ? { tls } : {}),
      ...(v.user !== undefined && v.password !== undefined ? { user: { name: v.user, password: v.password } } : {}),
      teapOuterIdentity: v['teap-identity'] ?? 'anonymous',
      peapOuterIdentity: v['peap-identity'] ?? 'anonymous',
    },
  };
}

function metricsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--server-metrics must be a URL, e.g. http://127.0.0.1:9812/metrics');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--server-metrics must be an http:// or https:// URL');
  return url.href;
}

/** Whether the credentials let a method run (EAP-TLS needs a certificate, the tunnels an account). */
function runnable(m: BenchMethodName, c: PeerCredentials): boolean {
  if (m === 'eap-tls' || m === 'eap-tls13') return c.tls !== undefined;
  return c.user !== undefined;
}

function benchOptions(v: OptionValues<typeof spec.options>): BenchOptions {
  if (v['gangway-warmup'] !== undefined && v.server !== undefined) throw new UsageError('--gangway-warmup sets up the Gangway the bench starts, not the server of --server');
  const external = externalServer(v);
  const hold = v.hold !== undefined ? positiveInt(v.hold, 0, '--hold') : undefined;
  if (hold !== undefined && external) throw new UsageError('--hold runs on a Gangway the bench starts, not with --server');
  const requested = (v.method.length > 0 ? v.method : hold !== undefined ? [] : ['all']).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  const methods: BenchMethodName[] = [];
  for (const m of requested) {
    if (m === 'all') {
      // With --server: every method the server can have and the credentials allow.
      methods.push(...BENCH_METHODS.filter((b) => !external || (METHOD_SERVERS[b].includes('external') && runnable(b, external.credentials))));
    } else if ((BENCH_METHODS as readonly string[]).includes(m)) {
      const name = m as BenchMethodName;
      if (external && !METHOD_SERVERS[name].includes('external')) throw new UsageError(`--server: ${name} needs the server's database (Gangway started by the bench)`);
      if (external && !runnable(name, external.credentials)) throw new UsageError(`--server: ${name} needs ${name.startsWith('eap-tls') ? '--tls-cert and --tls-key' : '--user and --password'}`);
      methods.push(name);
    } else throw new UsageError(`unknown method "${m}"`);
  }
  const concurrency = positiveInt(v.concurrency, 8, '--concurrency');
  if (concurrency > 200) throw new UsageError('--concurrency must be at most 200 (one RADIUS client has 256 Identifiers)');
  if (v.hostapd !== undefined && v['no-hostapd']) throw new UsageError('--hostapd and --no-hostapd exclude each other');
  if (v.count !== undefined && v.duration !== undefined) throw new UsageError('--count and --duration exclude each other');
  const durationSeconds = v.duration !== undefined ? positiveNumber(v.duration, 0, '--duration') : undefined;
  if (durationSeconds !== undefined && methods.includes('noob-completion')) throw new UsageError('noob-completion stages one registration per authentication: use --count');
  const open = openLoad(v);
  // An open-loop run is about a server under a given load; a cold one needs --phase cold asked for.
  const phases = phaseList(v.phase ?? (open ? 'steady' : 'cold,steady'));
  if (open && 'load' in open && phases.includes('cold')) throw new UsageError('--load measures the maximum first, which warms the server: steady phase only');
  const gangwayMain = v['gangway-main'] !== undefined ? resolve(v['gangway-main']) : gangwayMainPath();
  if (!gangwayMain && !external) throw new SetupError('cannot find dist/cli/main.js; build first (npx tsc -p tsconfig.build.json)');
  let hostapd: BenchOptions['hostapd'];
  if (external) hostapd = { skipped: '--server' };
  else if (v['no-hostapd']) hostapd = { skipped: '--no-hostapd' };
  else if (v.hostapd !== undefined) {
    if (!isExecutable(v.hostapd)) throw new UsageError(`--hostapd ${v.hostapd} is not an executable file`);
    hostapd = { path: resolve(v.hostapd) };
  } else {
    const path = defaultHostapdPath(gangwayMain!);
    hostapd = isExecutable(path) ? { path } : { skipped: `${path} not found (scripts/build-hostap-tools.sh builds it)` };
  }
  if (v.freeradius !== undefined && v['no-freeradius']) throw new UsageError('--freeradius and --no-freeradius exclude each other');
  let freeradius: BenchOptions['freeradius'];
  if (external) freeradius = { skipped: '--server' };
  else if (v['no-freeradius']) freeradius = { skipped: '--no-freeradius' };
  else if (v.freeradius !== undefined) {
    if (!isExecutable(v.freeradius)) throw new UsageError(`--freeradius ${v.freeradius} is not an executable file`);
    freeradius = { path: resolve(v.freeradius) };
  } else {
    const path = defaultFreeradiusPath();
    freeradius = path ? { path } : { skipped: 'freeradius not found on PATH (Debian: apt-get install freeradius)' };
  }
  const warmup: BenchOptions['warmup'] =
    v.warmup !== undefined
      ? { kind: 'fixed', count: positiveInt(v.warmup, 0, '--warmup', 0) }
      : {
          kind: 'settle',
          window: positiveInt(v['settle-window'], Math.max(100, 10 * concurrency), '--settle-window'),
          maxAuthentications: positiveInt(v['settle-max'], 5000, '--settle-max'),
          rule: { ...DEFAULT_SETTLE_RULE, tolerance: positiveNumber(v['settle-tolerance'], DEFAULT_SETTLE_RULE.tolerance, '--settle-tolerance') },
        };
  return {
    methods: [...new Set(methods)],
    ...(durationSeconds !== undefined ? { durationSeconds } : { count: positiveInt(v.count, 200, '--count') }),
    concurrency,
    phases,
    warmup,
    gangwayMain: gangwayMain ?? '',
    hostapd,
    freeradius,
    ...(external ? { external } : {}),
    maxSeconds: positiveNumber(v['max-seconds'], 300, '--max-seconds'),
    rawSeconds: positiveNumber(v['raw-seconds'], 2, '--raw-seconds'),
    keepDir: v.keep,
    ...(v['tls-engine'] !== undefined ? { tlsEngines: tlsEngines(v['tls-engine']) } : {}),
    ...(v['rss-every'] !== undefined ? { rssEvery: positiveInt(v['rss-every'], 0, '--rss-every') } : {}),
    ...(v.peers !== undefined ? { noobPeers: positiveInt(v.peers, 0, '--peers', 0) } : {}),
    ...(hold !== undefined ? { hold } : {}),
    ...(open ? { open } : {}),
    ...(v['gangway-node-args'] !== undefined ? { gangwayNodeArgs: nodeArgs(v['gangway-node-args']) } : {}),
    ...(v.workers !== undefined ? { gangwayWorkers: positiveInt(v.workers, 1, '--workers') } : {}),
    ...(v['gangway-warmup'] !== undefined ? { gangwayWarmup: gangwayWarmup(v['gangway-warmup']) } : {}),
  };
}

/** --gangway-warmup: what gangway.yaml's server.warmup accepts. */
function gangwayWarmup(value: string): number {
  const n = positiveInt(value, 0, '--gangway-warmup', 0);
  if (n > MAX_WARMUP) throw new UsageError(`--gangway-warmup must be at most ${MAX_WARMUP}`);
  return n;
}

/** --rate / --load and the options that shape the open loop; undefined: closed loop. */
function openLoad(v: OptionValues<typeof spec.options>): OpenLoadOptions | undefined {
  if (v.rate !== undefined && v.load !== undefined) throw new UsageError('--rate and --load exclude each other');
  if (v.rate === undefined && v.load === undefined) {
    const stray = (['arrivals', 'max-outstanding', 'seed'] as const).find((k) => v[k] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --rate or --load`);
    return undefined;
  }
  const process = (v.arrivals ?? 'poisson') as ArrivalProcess;
  if (!(ARRIVAL_PROCESSES as readonly string[]).includes(process)) throw new UsageError(`--arrivals must be ${ARRIVAL_PROCESSES.join(' or ')}`);
  const maxOutstanding = positiveInt(v['max-outstanding'], 200, '--max-outstanding');
  if (maxOutstanding > 200) throw new UsageError('--max-outstanding must be at most 200 (one RADIUS client has 256 Identifiers)');
  const seed = positiveInt(v.seed, 1, '--seed', 0);
  const shape = { process, maxOutstanding, seed };
  if (v.rate !== undefined) return { ...shape, rate: positiveNumber(v.rate, 0, '--rate') };
  const load = positiveNumber(v.load, 0, '--load');
  if (load > 10) throw new UsageError('--load is a share of the maximum: at most 10');
  return { ...shape, load };
}

function nodeArgs(value: string): string[] {
  const args = value.split(/\s+/).filter(Boolean);
  const bad = args.find((a) => !a.startsWith('-'));
  if (bad !== undefined) throw new UsageError(`--gangway-node-args: "${bad}" is not a node option (write --opt=value)`);
  return args;
}

function phaseList(value: string): ('cold' | 'steady')[] {
  const names = [...new Set(value.split(',').map((e) => e.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError('--phase needs cold, steady or both');
  for (const n of names) if (n !== 'cold' && n !== 'steady') throw new UsageError(`--phase: unknown phase "${n}" (cold or steady)`);
  // Cold first: it needs the server fresh.
  return (['cold', 'steady'] as const).filter((p) => names.includes(p));
}

function tlsEngines(value: string): ('openssl' | 'node')[] {
  const names = [...new Set(value.split(',').map((e) => e.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError('--tls-engine needs openssl, node or both');
  for (const n of names) if (n !== 'openssl' && n !== 'node') throw new UsageError(`--tls-engine: unknown engine "${n}" (openssl or node)`);
  return names as ('openssl' | 'node')[];
}

async function measure(options: BenchOptions, json: boolean, io: CliIo): Promise<number> {
  // Ctrl-C: exit at once; the exit hooks of the runner kill the servers and remove the directory.
  const onSignal = (signal: NodeJS.Signals): void => {
    io.stderr(`gangway bench: ${signal}, stopping\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await runBench(options, (line) => io.stderr(`${line}\n`));
    io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.allSucceeded ? 0 : 1;
  } catch (err) {
    io.stderr(`gangway bench: ${(err as Error).message}\n`);
    return 3;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
