/**
 * The start-up warm-up of `gangway serve`: before the real server listens, a throwaway Gangway in
 * the same process (the same V8 isolate) runs `server.warmup` authentications of each method the
 * real configuration enables, so that V8 has compiled the RADIUS, EAP and TLS paths before the
 * first device arrives. Without it the first few hundred authentications after a start cost
 * several times what settled ones do (docs/benchmarks.md, "Start-up warm-up").
 *
 * The throwaway server has everything of its own: a temporary data directory with its own demo
 * PKI, account and SQLite database (the bench's fixture), a loopback socket on a free port, a
 * silent log and its own metrics. Nothing of it reaches the real server's store, metrics, log or
 * sockets, and its directory is removed whatever happens. A warm-up that fails or runs out of time
 * never stops the start: it logs one warning and the start goes on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GangwayConfig } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { loadTlsAddon } from '../eap-methods/tls-engine/addon.js';
import { startGangway } from '../server.js';
import { silentLog, type Log } from '../util/log.js';
import { createBenchFixture, fixtureCredentials } from '../bench/fixture.js';
import { runLoad } from '../bench/load.js';
import type { BenchMethod, BenchMethodName, MethodDriver } from '../bench/method.js';
import { eapTls12, eapTls13 } from '../bench/method-eap-tls.js';
import { noobCompletion, noobReconnect } from '../bench/method-noob.js';
import { teapMschapv2 } from '../bench/method-teap.js';
import type { ServerTarget } from '../bench/target.js';

/** No warm-up authentication starts after this long; those still running are cut short then, and the throwaway server gets ABANDON_GRACE_MS to close. */
export const WARMUP_WALL_MS = 15_000;
/** After the wall time, how long the conversations cut short are given to end before the directory goes. */
const ABANDON_GRACE_MS = 2_000;
/** Conversations in flight per method; all methods run at once. */
const PER_METHOD_IN_FLIGHT = 2;
/** Authentications per method staged and run at a time, so that staging too stops at the wall time. */
const ROUND = 25;
const AUTH_TIMEOUT_MS = 5_000;
/**
 * Several conversations of different methods share the bench drivers' Calling-Station-Ids; the
 * throwaway server lets a station hold this many at once (the most `eap.stationConversations` allows).
 */
const STATION_CONVERSATIONS = 64;

export interface WarmupLimits {
  /** Wall time: no authentication starts after it (default WARMUP_WALL_MS). */
  wallMs?: number;
  /** Where the throwaway data directory is made (default os.tmpdir()). */
  parent?: string;
  /** Ends the warm-up early (the server is being stopped): conversations are cut short, the directory removed. */
  signal?: AbortSignal;
}

export interface WarmupOutcome {
  methods: BenchMethodName[];
  /** Authentications started, over all methods. */
  authentications: number;
  failed: number;
  /** Why authentications failed, counted per reason. */
  failureReasons: Record<string, number>;
  /** Methods that could not run at all, each with its reason. */
  setupErrors: string[];
  /** The wall time ran out before every authentication had run. */
  timedOut: boolean;
  wallMs: number;
  /** This process's CPU time (every thread) during the warm-up. */
  cpuMs: number;
  /** The throwaway data directory (removed when the warm-up returns). */
  dir: string;
}

/**
 * The bench's methods that exercise what `config` enables: EAP-TLS in each TLS version it allows,
 * TEAP with an inner password (its driver runs TLS 1.2), and EAP-NOOB (enabled by its `methods`
 * section) as new devices completing and registered ones reconnecting. Other methods (bare
 * MSCHAPv2, plugins) have no driver and are not warmed.
 */
export function warmupMethods(config: GangwayConfig): BenchMethod[] {
  const enabled = new Set([...config.eap.defaultMethods, ...config.eap.rules.flatMap((r) => r.methods)]);
  const tls12 = config.tls.minVersion === 'TLSv1.2';
  const tls13 = config.tls.maxVersion === 'TLSv1.3';
  const methods: BenchMethod[] = [];
  if (enabled.has('eap-tls') && tls12) methods.push(eapTls12);
  if (enabled.has('eap-tls') && tls13) methods.push(eapTls13);
  if (enabled.has('teap') && tls12) methods.push(teapMschapv2);
  const noob = config.methods['eap-noob'];
  if (noob !== undefined && noob !== null) methods.push(noobCompletion, noobReconnect);
  return methods;
}

/**
 * The engine the real server will run, found without announcing the node:tls fallback: that
 * warning is the real server's to give, once, in its own log.
 */
function engineOf(config: GangwayConfig): 'openssl' | 'node' {
  if (config.tls.engine !== undefined) return config.tls.engine;
  return loadTlsAddon().ok ? 'openssl' : 'node';
}

/** The throwaway server's configuration: the fixture's, on loopback only, with nothing but RADIUS. */
function throwawayConfig(fixtureConfig: GangwayConfig, real: GangwayConfig): GangwayConfig {
  // Left out rather than deleted: an object that had keys deleted is a slower kind for V8.
  const { portal: _portal, health: _health, ...rest } = fixtureConfig;
  return {
    ...rest,
    listen: [{ host: '127.0.0.1', port: 0 }],
    workers: 1,
    warmup: 0,
    log: { level: 'silent' },
    accounting: { ...fixtureConfig.accounting, listen: [] },
    tls: { ...fixtureConfig.tls, engine: engineOf(real) },
    // The real server's fragment size, so that the same fragmentation path runs.
    eap: { ...fixtureConfig.eap, packetSize: real.eap.packetSize, stationConversations: STATION_CONVERSATIONS },
  };
}

function cpuMsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** What one method's authentications came to. */
interface MethodTally {
  attempted: number;
  failed: number;
  failureReasons: Record<string, number>;
  /** Every authentication asked for was started. */
  complete: boolean;
}

/**
 * One method against the throwaway server, in rounds of ROUND authentications, each staged first
 * (EAP-NOOB Completion needs registrations waiting for it): staging is bounded by the wall time too.
 */
async function driveMethod(driver: MethodDriver, perMethod: number, base: number, deadline: number, stopped: () => boolean): Promise<MethodTally> {
  const tally: MethodTally = { attempted: 0, failed: 0, failureReasons: {}, complete: false };
  while (tally.attempted < perMethod) {
    const left = (deadline - performance.now()) / 1000;
    if (left <= 0 || stopped()) return tally;
    const n = Math.min(ROUND, perMethod - tally.attempted);
    await driver.stage?.(n);
    const r = await runLoad({
      count: n, concurrency: PER_METHOD_IN_FLIGHT, maxSeconds: left, authTimeoutMs: AUTH_TIMEOUT_MS,
      run: (i, w) => driver.run(i, base + w),
    });
    tally.attempted += r.attempted;
    tally.failed += r.failures;
    for (const [k, c] of Object.entries(r.failureReasons)) tally.failureReasons[k] = (tally.failureReasons[k] ?? 0) + c;
    if (r.stoppedEarly) return tally;
  }
  tally.complete = true;
  return tally;
}

/**
 * Runs the warm-up and says what it did. Throws when it could not run at all (the throwaway
 * server did not start); its directory is gone either way when this returns or throws.
 */
export async function runWarmup(config: GangwayConfig, perMethod: number, limits: WarmupLimits = {}): Promise<WarmupOutcome> {
  const methods = warmupMethods(config);
  const wallMs = limits.wallMs ?? WARMUP_WALL_MS;
  const t0 = performance.now();
  const cpu0 = cpuMsNow();
  const deadline = t0 + wallMs;
  const dir = mkdtempSync(join(limits.parent ?? tmpdir(), 'gangway-warmup-'));
  const tallies = new Map<BenchMethodName, MethodTally>();
  const setupErrors: string[] = [];
  const drivers = new Set<MethodDriver>();
  let stopped = false;
  const work = async (): Promise<void> => {
    const fixture = await createBenchFixture(join(dir, 'data'), 0);
    if (stopped) return;
    const gangway = await startGangway(throwawayConfig(loadConfig(fixture.init.dataDir), config), silentLog(), { workers: 1 });
    try {
      const address = gangway.addresses[0]!;
      const target: ServerTarget = {
        kind: 'gangway', host: address.host, port: address.port, secret: fixture.secret, version: 'warm-up',
        stop: async () => undefined, tail: () => '',
      };
      const credentials = fixtureCredentials(fixture);
      await Promise.all(methods.map(async (method, m) => {
        let driver: MethodDriver | undefined;
        try {
          if (stopped) return;
          driver = await method.prepare({ target, credentials, database: fixture.init.files.database, concurrency: PER_METHOD_IN_FLIGHT });
          drivers.add(driver);
          // Each method's conversations come from stations of their own (a multiple of the slots,
          // which noob-reconnect maps back to its devices).
          tallies.set(method.name, await driveMethod(driver, perMethod, m * PER_METHOD_IN_FLIGHT, deadline, () => stopped));
        } catch (err) {
          // One method's setup failing (an EAP-NOOB registration refused, say) leaves the others running.
          if (!stopped) setupErrors.push(`${method.name}: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          if (driver) {
            drivers.delete(driver);
            await driver.close();
          }
        }
      }));
    } finally {
      // Its authentications are over: a close that hangs (a store, a CRL refresh) must not hold
      // the real start until the wall time; what it has not released by then is left to it.
      const closing = gangway.close();
      closing.catch(() => undefined);
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([closing, new Promise((resolve) => { grace = setTimeout(resolve, ABANDON_GRACE_MS); })]);
      clearTimeout(grace);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const done = work();
    // Cut short, a later failure of `work` is nobody's to handle.
    done.catch(() => undefined);
    const cutShort = new Promise<'cut short'>((resolve) => {
      // At the wall time the conversations still running are cut short: a start waits at most the wall time and the grace.
      timer = setTimeout(() => resolve('cut short'), wallMs);
      if (limits.signal?.aborted) resolve('cut short');
      limits.signal?.addEventListener('abort', () => resolve('cut short'), { once: true });
    });
    if ((await Promise.race([done.then(() => 'done' as const), cutShort])) === 'cut short') {
      stopped = true;
      // Closing the drivers' RADIUS clients ends their conversations at once; `work` then closes the server.
      await Promise.allSettled([...drivers].map((d) => d.close()));
      await Promise.race([done.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ABANDON_GRACE_MS).unref())]);
    }
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
  const all = [...tallies.values()];
  const failureReasons: Record<string, number> = {};
  for (const t of all) for (const [k, c] of Object.entries(t.failureReasons)) failureReasons[k] = (failureReasons[k] ?? 0) + c;
  return {
    methods: methods.map((m) => m.name),
    authentications: all.reduce((n, t) => n + t.attempted, 0),
    failed: all.reduce((n, t) => n + t.failed, 0),
    failureReasons,
    setupErrors,
    timedOut: stopped || all.length + setupErrors.length < methods.length || all.some((t) => !t.complete),
    wallMs: Math.round(performance.now() - t0),
    cpuMs: Math.round(cpuMsNow() - cpu0),
    dir,
  };
}

/**
 * `gangway serve`'s warm-up: off when `server.warmup` is 0 or no enabled method has a driver.
 * Logs one line: info when every authentication succeeded, else a warning with the reason (none
 * when `limits.signal` stopped it). Never throws.
 */
export async function warmUpBeforeStart(config: GangwayConfig, log: Log, limits: WarmupLimits = {}): Promise<WarmupOutcome | undefined> {
  if (config.warmup === 0 || warmupMethods(config).length === 0) return undefined;
  let outcome: WarmupOutcome;
  try {
    outcome = await runWarmup(config, config.warmup, limits);
  } catch (err) {
    if (!limits.signal?.aborted) log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'start-up warm-up failed; starting without it');
    return undefined;
  }
  // Stopped by the caller: no figures worth a line.
  if (limits.signal?.aborted) return outcome;
  const { methods, authentications, failed, wallMs, cpuMs } = outcome;
  const figures = { methods, perMethod: config.warmup, authentications, failed, wallMs, cpuMs };
  if (failed > 0 || outcome.setupErrors.length > 0) {
    const reasons = { ...outcome.failureReasons, ...Object.fromEntries(outcome.setupErrors.map((e) => [e, 1])) };
    log.warn({ ...figures, reasons }, 'start-up warm-up: some authentications failed; starting anyway');
  } else if (outcome.timedOut) {
    log.warn({ ...figures, limitMs: limits.wallMs ?? WARMUP_WALL_MS }, 'start-up warm-up stopped at its time limit; starting anyway');
  } else {
    log.info(figures, 'start-up warm-up done');
  }
  return outcome;
}
