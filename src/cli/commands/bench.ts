import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_METHODS, type BenchMethodName } from '../../bench/method.js';
import { defaultHostapdPath, gangwayMainPath, isExecutable } from '../../bench/locate.js';
import { formatReport } from '../../bench/report.js';
import { runBench, type BenchOptions } from '../../bench/runner.js';
import type { CliIo } from '../io.js';

const USAGE = `usage: gangway bench [--method NAME[,NAME...]|all] [--count N] [--concurrency C] [--hostapd PATH|--no-hostapd] [--tls-engine E] [--json]

Measures Gangway (a child process on a free loopback port, its own temporary data directory) under
our own peers' load, next to the raw crypto cost and, when available, hostapd 2.10 with the same
certificates and account. See docs/benchmarks.md.

  --method M         ${BENCH_METHODS.join(', ')} or all (default all)
  --count N          measured authentications per method and server (default 200)
  --concurrency C    conversations in flight (default 8)
  --warmup N         unmeasured authentications first (default max(20, 2 × C))
  --hostapd PATH     hostapd binary (default .tools/hostap/hostapd when present)
  --no-hostapd       Gangway and the raw references only
  --max-seconds S    per method and server: start no authentication after S seconds (default 300)
  --raw-seconds S    wall time of each raw reference measurement (default 2)
  --json             one JSON object on stdout instead of the table
  --keep             keep the temporary directories
  --gangway-main F   the dist/cli/main.js to run as the server (default: this Gangway's)
  --tls-engine E     openssl, node or both (openssl,node): one Gangway per TLS engine, side by side
                     (default: one Gangway with its default engine)
Exit status: 0 every authentication succeeded, 1 some failed, 2 usage, 3 error.
`;

function positiveInt(value: string | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return n;
}

function positiveNumber(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

function tlsEngines(value: string): ('openssl' | 'node')[] {
  const names = [...new Set(value.split(',').map((e) => e.trim()).filter(Boolean))];
  if (names.length === 0) throw new Error('--tls-engine needs openssl, node or both');
  for (const n of names) if (n !== 'openssl' && n !== 'node') throw new Error(`--tls-engine: unknown engine "${n}" (openssl or node)`);
  return names as ('openssl' | 'node')[];
}

/** `gangway bench`: see USAGE and docs/benchmarks.md. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let options: BenchOptions;
  let json: boolean;
  try {
    const { values: v } = parseArgs({
      args: argv,
      options: {
        method: { type: 'string', multiple: true },
        count: { type: 'string' },
        concurrency: { type: 'string' },
        warmup: { type: 'string' },
        hostapd: { type: 'string' },
        'no-hostapd': { type: 'boolean', default: false },
        'max-seconds': { type: 'string' },
        'raw-seconds': { type: 'string' },
        json: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        'gangway-main': { type: 'string' },
        'tls-engine': { type: 'string' },
      },
    });
    json = v.json ?? false;
    const requested = (v.method ?? ['all']).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
    const methods: BenchMethodName[] = [];
    for (const m of requested) {
      if (m === 'all') methods.push(...BENCH_METHODS);
      else if ((BENCH_METHODS as readonly string[]).includes(m)) methods.push(m as BenchMethodName);
      else throw new Error(`unknown method "${m}"`);
    }
    const concurrency = positiveInt(v.concurrency, 8, '--concurrency');
    if (concurrency > 200) throw new Error('--concurrency must be at most 200 (one RADIUS client has 256 Identifiers)');
    if (v.hostapd !== undefined && v['no-hostapd']) throw new Error('--hostapd and --no-hostapd exclude each other');
    const gangwayMain = v['gangway-main'] !== undefined ? resolve(v['gangway-main']) : gangwayMainPath();
    if (!gangwayMain) throw new Error('cannot find dist/cli/main.js; build first (npx tsc -p tsconfig.build.json)');
    let hostapd: BenchOptions['hostapd'];
    if (v['no-hostapd']) hostapd = { skipped: '--no-hostapd' };
    else if (v.hostapd !== undefined) {
      if (!isExecutable(v.hostapd)) throw new Error(`--hostapd ${v.hostapd} is not an executable file`);
      hostapd = { path: resolve(v.hostapd) };
    } else {
      const path = defaultHostapdPath(gangwayMain);
      hostapd = isExecutable(path) ? { path } : { skipped: `${path} not found (scripts/build-hostap-tools.sh builds it)` };
    }
    options = {
      methods: [...new Set(methods)],
      count: positiveInt(v.count, 200, '--count'),
      concurrency,
      warmup: positiveInt(v.warmup, Math.max(20, 2 * concurrency), '--warmup', 0),
      gangwayMain,
      hostapd,
      maxSeconds: positiveNumber(v['max-seconds'], 300, '--max-seconds'),
      rawSeconds: positiveNumber(v['raw-seconds'], 2, '--raw-seconds'),
      keepDir: v.keep ?? false,
      ...(v['tls-engine'] !== undefined ? { tlsEngines: tlsEngines(v['tls-engine']) } : {}),
    };
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }

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
