import { loadConfig, parseListen, type GangwayConfig } from '../../config/config.js';
import { ConfigError } from '../../config/config-error.js';
import { startGangway, type RunningGangway } from '../../server.js';
import { createLog, type Log } from '../../util/log.js';
import { prettyLogStream } from '../../util/log-pretty.js';
import { CRASH_EXIT_CODE, installCrashPolicy } from '../crash-policy.js';
import { armExitWatchdog } from '../../util/exit-watchdog.js';
import { parseWorkers, resolveWorkers, type WorkersSetting } from '../../config/workers.js';
import type { WorkerLogLevel } from '../../server/workers/protocol.js';
import type { CliIo } from '../io.js';
import { UsageError, defineCommand, runCommand } from '../command.js';
import { DATA_OPTION, dataDirOf, requireDataDir, type DataDir } from '../data-dir.js';
import { describeStartupError } from '../startup-error.js';
import { warmUpBeforeStart } from '../warmup.js';
import { checkPrivateFiles } from '../../server/private-files.js';
import { StoreOpenError, refuseNewerSchema } from '../../store/open-stores.js';

/** The options serve and start share. */
export const SERVE_OPTIONS = {
  data: DATA_OPTION,
  listen: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'listen here instead of server.listen (repeatable)' },
  debug: { type: 'boolean', help: 'log every step at debug level as readable lines on stdout (like radiusd -X)' },
  workers: { type: 'string', value: 'N|auto', help: 'threads running EAP conversations (default: server.workers, else 1; auto: one per core)' },
} as const;

const SERVE_EPILOG =
  'Before it listens, the server warms up against a throwaway server of its own in the same process\n' +
  '(server.warmup authentications per enabled method, cut short at 15 s; 0 turns it off).\n' +
  'Logs go to stdout as JSON lines (pino) unless --debug is given; GANGWAY_LOG_LEVEL overrides log.level.\n' +
  'SIGTERM or SIGINT stops the server; SIGHUP reloads gangway.yaml (clients, certificates, CRLs, EAP rules\n' +
  'and method settings; a configuration that fails is refused and the running one stays). CRL files are\n' +
  're-read by themselves when they change (tls.crlPollSeconds); a bad one is refused and logged.\n' +
  'Exit status: 0 stopped by a signal, 1 could not start (the reason is printed), 2 usage, 78 configuration error,\n' +
  '70 an internal error (logged; also a stop that had not finished 30 s after the signal).';

export const spec = defineCommand({
  name: 'serve',
  summary: 'run the RADIUS server from a data directory',
  synopsis: ['serve [--data DIR] [--listen HOST:PORT]... [--workers N|auto] [--debug]'],
  description: 'Runs the server in the foreground from DIR/gangway.yaml (see docs/configuration.md).',
  options: SERVE_OPTIONS,
  epilog: SERVE_EPILOG,
});

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values }) => serveDataDir(requireDataDir(dataDirOf(values.data)), { listen: values.listen, debug: values.debug, workers: values.workers }, io));
}

export interface ServeOptions {
  listen: string[];
  debug: boolean;
  /** `--workers`: wins over server.workers. */
  workers?: string | undefined;
}

function logFor(config: GangwayConfig, debug: boolean): Log {
  if (debug) return createLog('debug', prettyLogStream(process.stdout, { colour: process.stdout.isTTY === true }));
  return createLog(process.env.GANGWAY_LOG_LEVEL ?? config.log.level);
}

/** pino's level as the lowest a worker thread need send (trace is below debug, fatal above error). */
function workerLogLevel(level: string): WorkerLogLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return 'debug';
    case 'warn':
      return 'warn';
    case 'error':
    case 'fatal':
      return 'error';
    case 'silent':
      return 'silent';
    default:
      return 'info';
  }
}

/**
 * How long a stop (SIGTERM, SIGINT) may take before the exit watchdog ends the process with status
 * 70: closing takes well under a second, but a worker thread stuck in native code never closes.
 */
const SHUTDOWN_GRACE_MS = 30_000;

/** Loads the configuration, starts the server, and runs until SIGTERM or SIGINT. */
export async function serveDataDir(dir: DataDir, opts: ServeOptions, io: CliIo): Promise<number> {
  let listen;
  let workers: WorkersSetting | undefined;
  try {
    listen = opts.listen.map((l, i) => parseListen(l, `--listen[${i}]`));
    if (opts.workers !== undefined) workers = parseWorkers(opts.workers, '--workers');
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${err.key}: ${err.why}`);
    throw err;
  }
  // The command line's --listen wins over the file, at start and at every reload.
  const load = (): GangwayConfig => {
    const config = loadConfig(dir.path);
    if (listen.length > 0) config.listen = listen;
    return config;
  };
  const config = load();
  const log = logFor(config, opts.debug);
  installCrashPolicy(log);
  const setting = workers ?? config.workers;
  // `auto` means as many as can run: the TEAP-BRSKI registrar runs in one thread (a count > 1 with brski is refused).
  const threads = setting === 'auto' && config.brski !== undefined && config.brski !== null ? 1 : resolveWorkers(setting);
  // Files others can read refuse the start (exit 78): said before the warm-up's seconds, not after.
  checkPrivateFiles(config);
  // So is a database a newer Gangway migrated (the same line as when the store opens).
  try {
    await refuseNewerSchema(config.store);
  } catch (err) {
    if (!(err instanceof StoreOpenError)) throw err;
    io.stderr(`gangway: ${describeStartupError(err, config) ?? err.message}\n`);
    return 1;
  }
  // Before the real server listens, so that no NAS meets the code V8 has not compiled yet. Worker
  // threads are isolates of their own that a warm-up here cannot reach: it would cost its seconds
  // for the main thread's RADIUS path alone.
  const warmup = threads === 1 ? await warmUpUnlessStopped(config, log) : { stopped: false, reloadAsked: false };
  if (threads > 1 && config.warmup > 0) log.info({ workers: threads }, 'start-up warm-up skipped: EAP runs in worker threads, which it cannot reach');
  if (warmup.stopped) return 0;
  let running: RunningGangway;
  try {
    // A lost worker thread is an unexpected error: the crash policy logs it and exits with status 70.
    running = await startGangway(config, log, { workers: threads, workerLogLevel: opts.debug ? 'debug' : workerLogLevel(process.env.GANGWAY_LOG_LEVEL ?? config.log.level) });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const plain = describeStartupError(err, config);
    if (plain !== undefined) {
      io.stderr(`gangway: ${plain}\n`);
    } else {
      log.error({ err }, 'gangway failed to start');
      io.stderr(`gangway: cannot start: ${err instanceof Error ? err.message : String(err)} (the log above has the details)\n`);
    }
    return 1;
  }
  const reloader = new Reloader(running, load, log);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      // A worker thread stuck in native code would hold up the close and the exit after it for good.
      try {
        armExitWatchdog(SHUTDOWN_GRACE_MS, CRASH_EXIT_CODE);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'the exit watchdog could not be armed');
      }
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      reloader
        .idle()
        .then(() => running.close())
        .then(resolveStop, (err: unknown) => {
          log.error({ err }, 'error during shutdown');
          resolveStop();
        });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    const onHup = (): void => reloader.request();
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    if (warmup.reloadAsked) reloader.request();
  });
  return 0;
}

/**
 * The start-up warm-up (src/cli/warmup.ts) with the signals a running server obeys: SIGTERM or
 * SIGINT ends it (its temporary directory removed) and the server does not start; a SIGHUP is kept
 * for when the server runs, since gangway.yaml was read before the warm-up.
 */
async function warmUpUnlessStopped(config: GangwayConfig, log: Log): Promise<{ stopped: boolean; reloadAsked: boolean }> {
  const stop = new AbortController();
  let reloadAsked = false;
  const onStop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutting down');
    stop.abort();
  };
  const onHup = (): void => {
    reloadAsked = true;
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await warmUpBeforeStart(config, log, { signal: stop.signal });
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  }
  return { stopped: stop.signal.aborted, reloadAsked };
}

/**
 * SIGHUP: read gangway.yaml again and apply it. One reload at a time; a signal during a reload
 * runs one more afterwards (the file may have changed again). A configuration that does not load
 * or build is refused with its reason in the log, and the running one stays in force.
 */
class Reloader {
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private busy = false;

  constructor(private readonly gangway: RunningGangway, private readonly load: () => GangwayConfig, private readonly log: Log) {}

  request(): void {
    if (this.busy) {
      this.pending = true;
      return;
    }
    this.busy = true;
    this.running = this.loop();
  }

  idle(): Promise<void> {
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.pending = false;
      this.log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
      try {
        const { restartNeeded, refusedCrls } = await this.gangway.reload(this.load());
        if (restartNeeded.length > 0) this.log.warn({ restartNeeded }, 'these settings changed but apply only after a restart; they keep their running values');
        if (refusedCrls.length > 0) {
          this.log.error({ refusedCrls: refusedCrls.map((r) => ({ file: r.path, reason: r.reason })) }, 'reloaded, but CRL files were refused; their CRLs in force stay');
        }
      } catch (err) {
        const reason = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
        this.log.error({ reason }, 'configuration reload refused; the running configuration stays in force');
      }
    } while (this.pending);
    this.busy = false;
  }
}
