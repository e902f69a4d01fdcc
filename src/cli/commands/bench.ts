import { resolve } from 'node:path';
import { BENCH_METHODS, type BenchMethodName } from '../../bench/method.js';
import { defaultHostapdPath, gangwayMainPath, isExecutable } from '../../bench/locate.js';
import { formatReport } from '../../bench/report.js';
import { runBench, type BenchOptions } from '../../bench/runner.js';
import type { CliIo } from '../io.js';
import { SetupError, UsageError, defineCommand, runCommand, type OptionValues } from '../command.js';

export const spec = defineCommand({
  name: 'bench',
  summary: 'measure authentications/s, CPU and memory against raw crypto and hostapd',
  synopsis: ['bench [--method NAME[,NAME...]|all] [--count N] [--concurrency C] [--hostapd PATH|--no-hostapd] [--json]'],
  description:
    'Measures Gangway (a child process on a free loopback port, its own temporary data directory) under\n' +
    'our own peers\' load, next to the raw crypto cost and, when available, hostapd 2.10 with the same\n' +
    'certificates and account. See docs/benchmarks.md.',
  options: {
    method: { type: 'string', multiple: true, value: 'M', help: `${BENCH_METHODS.join(', ')} or all (default all; repeatable or comma-separated)` },
    count: { type: 'string', value: 'N', help: 'measured authentications per method and server (default 200)' },
    concurrency: { type: 'string', value: 'C', help: 'conversations in flight (default 8, at most 200)' },
    warmup: { type: 'string', value: 'N', help: 'unmeasured authentications first (default max(20, 2 × C))' },
    hostapd: { type: 'string', value: 'PATH', help: 'hostapd binary (default .tools/hostap/hostapd when present)' },
    'no-hostapd': { type: 'boolean', help: 'Gangway and the raw references only' },
    'max-seconds': { type: 'string', value: 'S', help: 'per method and server: start no authentication after S seconds (default 300)' },
    'raw-seconds': { type: 'string', value: 'S', help: 'wall time of each raw reference measurement (default 2)' },
    json: { type: 'boolean', help: 'one JSON object on stdout instead of the table' },
    keep: { type: 'boolean', help: 'keep the temporary directories' },
    'gangway-main': { type: 'string', value: 'F', help: 'the dist/cli/main.js to run as the server (default: this Gangway\'s)' },
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

function benchOptions(v: OptionValues<typeof spec.options>): BenchOptions {
  const requested = (v.method.length > 0 ? v.method : ['all']).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  const methods: BenchMethodName[] = [];
  for (const m of requested) {
    if (m === 'all') methods.push(...BENCH_METHODS);
    else if ((BENCH_METHODS as readonly string[]).includes(m)) methods.push(m as BenchMethodName);
    else throw new UsageError(`unknown method "${m}"`);
  }
  const concurrency = positiveInt(v.concurrency, 8, '--concurrency');
  if (concurrency > 200) throw new UsageError('--concurrency must be at most 200 (one RADIUS client has 256 Identifiers)');
  if (v.hostapd !== undefined && v['no-hostapd']) throw new UsageError('--hostapd and --no-hostapd exclude each other');
  const gangwayMain = v['gangway-main'] !== undefined ? resolve(v['gangway-main']) : gangwayMainPath();
  if (!gangwayMain) throw new SetupError('cannot find dist/cli/main.js; build first (npx tsc -p tsconfig.build.json)');
  let hostapd: BenchOptions['hostapd'];
  if (v['no-hostapd']) hostapd = { skipped: '--no-hostapd' };
  else if (v.hostapd !== undefined) {
    if (!isExecutable(v.hostapd)) throw new UsageError(`--hostapd ${v.hostapd} is not an executable file`);
    hostapd = { path: resolve(v.hostapd) };
  } else {
    const path = defaultHostapdPath(gangwayMain);
    hostapd = isExecutable(path) ? { path } : { skipped: `${path} not found (scripts/build-hostap-tools.sh builds it)` };
  }
  return {
    methods: [...new Set(methods)],
    count: positiveInt(v.count, 200, '--count'),
    concurrency,
    warmup: positiveInt(v.warmup, Math.max(20, 2 * concurrency), '--warmup', 0),
    gangwayMain,
    hostapd,
    maxSeconds: positiveNumber(v['max-seconds'], 300, '--max-seconds'),
    rawSeconds: positiveNumber(v['raw-seconds'], 2, '--raw-seconds'),
    keepDir: v.keep,
    ...(v['tls-engine'] !== undefined ? { tlsEngines: tlsEngines(v['tls-engine']) } : {}),
  };
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
