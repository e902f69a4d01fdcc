import { readFileSync } from 'node:fs';
import { digestEngine } from './util/digest.js';
import { desEngine } from './eap-methods/mschapv2/ms-chap-v2.js';
import { udpEngine } from './radius/udp-listener.js';
import { mallocInUse } from './util/malloc.js';
import type { GangwayConfig } from './config/config.js';
import { ConfigError } from './config/config-error.js';
import type { EapAuthenticator } from './eap-methods/authenticator.js';
import type { NoobPeerStore } from './store/noob-peers.js';
import { purgeExpiredRegistrations } from './noob/oob.js';
import { type ResolvedNoobConfig } from './noob/config.js';
import { RadiusServer } from './radius/server.js';
import { openStores } from './store/open-stores.js';
import type { Stores } from './store/stores.js';
import { PurgeFailedError, type Retention } from './store/retention.js';
import type { Log } from './util/log.js';
import { parseBrskiConfig } from './teap-brski/brski/config.js';
import { setupBrski, type BrskiServices } from './teap-brski/brski/setup.js';
import { startPortal, type RunningPortal } from './portal/server.js';
import { recordAcceptedSession } from './server/access-session-recorder.js';
import { createSessionTerminator } from './server/disconnect.js';
import { startHealthEndpoint, type RunningHealthEndpoint } from './server/health.js';
import { SheddingMonitor } from './util/shedding.js';
import { buildAuthorizer } from './server/authorization-setup.js';
import { createAuditedLockout } from './server/password-lockout-audit.js';
import { checkPrivateFiles } from './server/private-files.js';
import { AccountingServer } from './radius/accounting-server.js';
import { createAccountingRecorder } from './server/accounting-recorder.js';
import { GangwayMetrics } from './server/metrics.js';
import { sharedLiveness } from './store/liveness.js';
import type { PasswordLockout } from './eap-methods/password-lockout.js';
import { crlBytes, initialCrls, planCrls, type CrlRefusal, type CrlsInForce } from './server/crls-in-force.js';
import { CrlWatcher } from './server/crl-watcher.js';
import { HeldCrlBaselines } from './server/crl-baselines.js';
import { readConfigFile, readTlsMaterial } from './server/eap-build.js';
import { startEapSide } from './server/eap-side.js';
import type { WorkerLogLevel } from './server/workers/protocol.js';
import type { WorkerPoolTimings } from './server/workers/pool.js';
import { resolveWorkers } from './config/workers.js';
import type { SessionTableStats } from './eap-methods/session-table.js';

export interface RunningGangway {
  readonly addresses: { host: string; port: number }[];
  /** Where Accounting-Requests are received (empty when accounting is off). */
  readonly accountingAddresses: { host: string; port: number }[];
  /** The EAP authenticator when conversations run in this thread (one worker); undefined with worker threads. */
  readonly eap: EapAuthenticator | undefined;
  /** Threads running EAP conversations (1: this thread). */
  readonly workers: number;
  /** Every session table together (one per worker thread). */
  admission(): SessionTableStats;
  /** The database's aggregates (SQLite or PostgreSQL, as gangway.yaml's `store` says). */
  readonly stores: Stores;
  /** Where the portal listens, when configured. */
  readonly portal?: { host: string; port: number };
  /** Where GET /healthz and GET /metrics are answered, when configured. */
  readonly health?: { host: string; port: number };
  /** What every layer sheds; Status-Server and /healthz answer from it. */
  readonly shedding: SheddingMonitor;
  /**
   * Applies a new configuration without a restart: RADIUS clients, certificates, CA files and CRLs,
   * EAP rules and method settings, authorization defaults, accounting retention. Everything is
   * built first; a configuration that fails (ConfigError) changes nothing. A CRL file that is
   * refused (crls-in-force.ts: unreadable, badly signed, expired, older than the CRL in force...)
   * does not fail the reload: everything else applies, that file keeps the CRLs it had in force,
   * as the CRL watcher keeps them, and it is logged and returned in `refusedCrls`. A refused file
   * with no CRLs in force to keep (named for the first time) fails the reload (ConfigError). Settings that need their sockets or tables rebuilt are
   * named in `restartNeeded` and keep their running values.
   */
  reload(config: GangwayConfig): Promise<{ restartNeeded: string[]; refusedCrls: CrlRefusal[] }>;
  /**
   * Reads the CRL files of the configuration in force again and applies those that changed and
   * are acceptable, keeping every other TLS file as it was built. The CRL watcher calls it when a
   * file changes (`tls.crlPollSeconds`); a refused file is logged and its CRLs in force stay.
   */
  refreshCrls(): Promise<{ accepted: string[]; refused: CrlRefusal[] }>;
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * Threads running EAP conversations; default 1, in this thread (`gangway serve` passes
   * `--workers` or `server.workers`). More than one runs them in worker threads.
   */
  workers?: number;
  /**
   * The lowest level of log line worker threads send to `log` (each costs a message): the level
   * `log` writes at, when the caller knows it. Default `info`.
   */
  workerLogLevel?: WorkerLogLevel;
  /**
   * A worker thread exited, or stopped answering and was terminated, while running. Default: thrown
   * as an uncaught exception, which the crash policy of `gangway serve` turns into exit status 70.
   * One that returns keeps the server going on the other workers (routed around the lost one).
   */
  onWorkerLost?: (err: Error) => void;
  /** How long worker threads are waited for (src/server/workers/pool.ts); tests shorten them. */
  workerTimings?: Partial<WorkerPoolTimings>;
}

/** Wires configuration, store, methods, EAP and RADIUS together and starts listening. */
export async function startGangway(config: GangwayConfig, log: Log, options: StartOptions = {}): Promise<RunningGangway> {
  checkPrivateFiles(config);
  const stores = await openStores(config.store, log);
  log.info({ store: stores.description }, 'store open');
  // Counted whether or not anyone scrapes: a handful of additions per packet, and one code path.
  const metrics = new GangwayMetrics();
  const wrap = metrics.wrapStore;
  let brski: BrskiServices | undefined;
  let crlWatcher: CrlWatcher | undefined;
  try {
    const brskiConfig = parseBrskiConfig(config.brski, config.dataDir);
    const threads = options.workers ?? resolveWorkers(config.workers);
    // The registrar's HTTPS endpoints and its TLV methods share one Registrar object.
    if (threads > 1 && brskiConfig) throw new ConfigError('server.workers', 'must be 1 while brski (the TEAP-BRSKI registrar) is configured: the registrar runs in one thread');
    // Each worker holds its part of the session table, at least one conversation.
    if (threads > 1 && config.eap.maxSessions < threads) throw new ConfigError('eap.maxSessions', `must be at least the number of worker threads (${threads}): each holds its part of it`);
    if (brskiConfig) {
      brski = await setupBrski(brskiConfig, {
        stores: { ...stores, audit: wrap('audit', stores.audit) },
        tlsCert: readConfigFile(config.tls.cert, 'tls.cert'),
        tlsKey: readConfigFile(config.tls.key, 'tls.key'),
        log,
        ...(brskiConfig.https ? { onConnectionRefused: metrics.connectionRefusals('brski-https') } : {}),
      });
    }
    // One NOOB store for the method, its housekeeping and the portal, whatever reloads do.
    const noobStore = wrap('noob-peers', stores.noobPeers);
    // What a reload replaces; the request handlers read it on every request.
    let current = config;
    // The TLS files the methods were built from: a CRL refresh rebuilds with these and new CRLs only.
    let material = readTlsMaterial(config, brski);
    const lockoutFor = keptLockouts(stores, metrics, log);
    const watcher = new CrlWatcher({
      paths: () => current.tls.crl,
      refresh: async () => {
        const r = await running.refreshCrls();
        const retries = r.refused.flatMap((x) => (x.retryAt ? [x.retryAt.getTime()] : []));
        return retries.length > 0 ? { retryAt: new Date(Math.min(...retries)) } : {};
      },
      afterPoll: (now) => reportStaleCrls(crls, now),
      onError: (err) => log.error({ err }, 'CRL watcher failed'),
    });
    crlWatcher = watcher;
    // Identities taken before the CRLs are read, so a change right after the read is still seen.
    await watcher.baseline();
    // The newest CRL held of each CA key before this start: a CRL file swapped back to an older
    // CRL while the server was down is refused as a refresh would refuse it.
    const baselines = await HeldCrlBaselines.load(stores.crlBaselines);
    const initial = await initialCrls(config.tls.crl, material.trusted, new Date(), readFileSync, baselines.recorded);
    if (initial.unreadable) throw new ConfigError(`tls.crl[${config.tls.crl.indexOf(initial.unreadable.path)}]`, initial.unreadable.reason);
    if (initial.rolledBack) {
      const r = initial.rolledBack;
      log.error({ file: r.path, reason: r.reason }, 'CRL refused at start: it is older than a CRL this server held before, and loading it would undo revocations; install the current CRL');
      throw new ConfigError(`tls.crl[${config.tls.crl.indexOf(r.path)}]`, `${r.path}: ${r.reason}; install the CA's current CRL`);
    }
    for (const w of initial.warnings) log.error({ file: w.path, reason: w.reason }, 'CRL loaded as it is, but it is not acceptable: OpenSSL refuses the certificates it covers until a valid CRL is installed');
    // The CRLs in force, per file; a SIGHUP or a CRL refresh replaces them.
    let crls: CrlsInForce = initial.files;
    await baselines.raiseFrom(crls, new Date(), log);
    const reportStaleCrls = staleCrlReporter(log);
    const manufacturers = brskiConfig?.manufacturers.map((m) => m.name) ?? [];
    const authorizerFor = (c: GangwayConfig, names: string[]): ReturnType<typeof buildAuthorizer> =>
      buildAuthorizer(c.authorization, stores, { methods: names, manufacturers }, log, wrap);
    const shedding = new SheddingMonitor();
    const eap = await startEapSide(config, material, crlBytes(config.tls.crl, crls), { stores, noobStore, brski, metrics, lockoutFor, log, shedding, authorizerFor }, {
      threads,
      logLevel: options.workerLogLevel ?? 'info',
      onLost: options.onWorkerLost ?? ((err) => setImmediate(() => {
        throw err;
      })),
      ...(options.workerTimings ? { timings: options.workerTimings } : {}),
    });
    const accessLog = log.child({ module: 'access' });
    // With the portal, each identity's last accepted session is kept so that removing a device can disconnect it.
    const accessSessions = config.portal ? wrap('access-sessions', stores.accessSessions) : undefined;
    const servers: RadiusServer[] = [];
    const addresses: { host: string; port: number }[] = [];
    const accountingStore = wrap('accounting', stores.accounting);
    const accounting = config.accounting.listen.length > 0
      ? new AccountingServer({
          clients: config.radius.clients,
          handler: createAccountingRecorder({ store: accountingStore, audit: wrap('audit', stores.audit), log }),
          log,
          replyCacheMs: config.radius.replyCacheMs,
          maxInFlight: config.radius.maxInFlight,
          observer: metrics.accounting,
        })
      : undefined;
    const accountingAddresses: { host: string; port: number }[] = [];
    let portal: RunningPortal | undefined;
    let health: RunningHealthEndpoint | undefined;
    try {
      for (const address of config.listen) {
        const server = new RadiusServer({
          clients: config.radius.clients,
          handler: async (req) => {
            const reply = await eap.handle(req, accessLog);
            if (accessSessions) await recordAcceptedSession(accessSessions, req, reply, accessLog);
            return reply;
          },
          log,
          replyCacheMs: config.radius.replyCacheMs,
          maxInFlight: config.radius.maxInFlight,
          shedding,
          observer: metrics.authentication,
        });
        servers.push(server);
        addresses.push(await server.listen(address.host, address.port));
      }
      for (const address of accounting ? config.accounting.listen : []) accountingAddresses.push(await accounting!.listen(address.host, address.port));
      if (config.portal && accessSessions) {
        const p = config.portal;
        portal = await startPortal(
          {
            listen: p.listen,
            https: p.tls,
            ...(p.tls ? { tls: { cert: readConfigFile(config.tls.cert, 'tls.cert'), key: readConfigFile(config.tls.key, 'tls.key') } } : {}),
            sessionMinutes: p.sessionMinutes,
            maxFailedLogins: p.maxFailedLogins,
            lockoutMinutes: p.lockoutMinutes,
            connections: p.connections,
          },
          {
            stores,
            ...(eap.noob ? { noob: { store: noobStore, config: eap.noob } } : {}),
            // A getter: Disconnect-Requests use the secrets of the configuration in force.
            terminate: createSessionTerminator({
              sessions: accessSessions,
              get clients() { return current.radius.clients; },
              log,
              // An Accept that crossed the removal: ended as well, and on the record like the first.
              onLateSession: (identity, outcome, detail) => stores.audit.append({ at: new Date(), event: 'radius.disconnect', subject: identity, detail: { ...detail, late: true, ...outcome } }),
            }),
            log,
            authorization: eap.authorizer,
            ...(brskiConfig ? { brski: { manufacturers } } : {}),
            onConnectionRefused: metrics.connectionRefusals('portal'),
          },
        );
      }
      const store = metrics.faultAwareLiveness(sharedLiveness(wrap('liveness', stores.liveness)));
      metrics.watch({ conversations: () => eap.admission, shedding, inFlight: () => servers.reduce((n, s) => n + s.stats.inFlight, 0), store });
      if (config.health) {
        health = await startHealthEndpoint(
          config.health.listen,
          { shedding, conversations: () => eap.admission, store, metrics: () => metrics.render() },
          log,
          { caps: config.health.connections, onRefused: metrics.connectionRefusals('health') },
        );
        metrics.process.start();
      }
    } catch (err) {
      metrics.process.stop();
      await health?.close();
      await portal?.close();
      await Promise.all(servers.map((s) => s.close()));
      await accounting?.close();
      await eap.close();
      await brski?.close();
      throw err;
    }
    let housekeeping = eap.noob ? startNoobHousekeeping(noobStore, eap.noob, log) : undefined;
    // The purges use the stores unwrapped: their batches are no store calls of the RADIUS path (the
    // store-latency histogram's subject), and a purge of hours is not one slow call.
    let accountingHousekeeping = startRetentionHousekeeping('accounting', stores.accounting, config.accounting.retentionDays, log);
    let auditHousekeeping = startRetentionHousekeeping('audit', stores.audit, config.audit.retentionDays, log);
    log.info({ addresses, accounting: accountingAddresses, methods: eap.methods, workers: eap.threads, digests: digestEngine, des: desEngine, udp: udpEngine, malloc: mallocInUse() }, 'gangway listening');
    // A SIGHUP and a CRL refresh never build at the same time: each builds from what the other applied.
    let applying: Promise<unknown> = Promise.resolve();
    let closed = false;
    const serially = <T>(task: () => Promise<T>): Promise<T> => {
      const run = applying.then(task, task);
      applying = run.catch(() => undefined);
      return run;
    };
    const logAccepted = (paths: readonly string[], files: CrlsInForce, why: string): void => {
      for (const file of paths) {
        const crlsOfFile = files.get(file)?.facts.map((f) => ({ issuer: f.issuer, crlNumber: f.crlNumber?.toString(), thisUpdate: f.thisUpdate.toISOString(), nextUpdate: f.nextUpdate?.toISOString(), revoked: f.revoked }));
        log.info({ file, crls: crlsOfFile, why }, 'CRL in force');
      }
    };
    const running: RunningGangway = {
      addresses,
      accountingAddresses,
      eap: eap.eap,
      workers: eap.threads,
      admission: () => eap.admission,
      stores,
      ...(portal ? { portal: portal.address } : {}),
      ...(health ? { health: health.address } : {}),
      shedding,
      reload: (next) => serially(async () => {
        const restartNeeded = restartOnlyChanges(current, next);
        // Built completely before anything changes: a failure here leaves the running configuration in force.
        const nextMaterial = readTlsMaterial(next, brski);
        const plan = await planCrls(next.tls.crl, crls, nextMaterial.trusted, new Date(), readFileSync, baselines.recorded);
        // A refused CRL file holds back nothing else (a new RADIUS client, say): it keeps its CRLs in
        // force. One with none to keep (named for the first time) refuses the reload: applying the
        // rest would drop that file's CA from revocation checking, or every CRL if it replaced them all.
        const unkept = plan.refused.find((r) => !plan.files.has(r.path));
        if (unkept) throw new ConfigError(`tls.crl[${next.tls.crl.indexOf(unkept.path)}]`, `${unkept.path}: ${unkept.reason}; a CRL file new in the configuration must be acceptable, nothing was changed`);
        await eap.apply(next, nextMaterial, crlBytes(next.tls.crl, plan.files));
        material = nextMaterial;
        crls = plan.files;
        for (const r of plan.refused) {
          log.error({ file: r.path, reason: r.reason, ...(r.retryAt ? { retryAt: r.retryAt.toISOString() } : {}) }, 'CRL file refused by the reload; the CRLs in force stay');
        }
        for (const n of plan.notes) log.warn({ file: n.path }, n.note);
        logAccepted(plan.accepted, crls, 'SIGHUP');
        await baselines.raiseFrom(crls, new Date(), log);
        if (next.tls.crlPollSeconds !== current.tls.crlPollSeconds) watcher.start(next.tls.crlPollSeconds * 1000);
        for (const server of servers) server.setClients(next.radius.clients);
        accounting?.setClients(next.radius.clients);
        if (housekeeping) clearInterval(housekeeping);
        housekeeping = eap.noob ? startNoobHousekeeping(noobStore, eap.noob, log) : undefined;
        accountingHousekeeping.stop();
        accountingHousekeeping = startRetentionHousekeeping('accounting', stores.accounting, next.accounting.retentionDays, log);
        auditHousekeeping.stop();
        auditHousekeeping = startRetentionHousekeeping('audit', stores.audit, next.audit.retentionDays, log);
        current = next;
        const refusedCrls = plan.refused;
        log.info({ clients: next.radius.clients.length, methods: eap.methods, restartNeeded, refusedCrls: refusedCrls.map((r) => r.path) }, 'configuration reloaded');
        return { restartNeeded, refusedCrls };
      }),
      refreshCrls: () => serially(async () => {
        if (closed) return { accepted: [], refused: [] };
        const paths = current.tls.crl;
        const plan = await planCrls(paths, crls, material.trusted, new Date(), readFileSync, baselines.recorded);
        for (const r of plan.refused) {
          log.error({ file: r.path, reason: r.reason, ...(r.retryAt ? { retryAt: r.retryAt.toISOString() } : {}) }, 'CRL file changed but was refused; the CRLs in force stay');
        }
        for (const n of plan.notes) log.warn({ file: n.path }, n.note);
        if (plan.accepted.length === 0) return { accepted: [], refused: plan.refused };
        try {
          // The same build a SIGHUP makes, from the configuration and TLS files in force.
          await eap.apply(current, material, crlBytes(paths, plan.files));
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          log.error({ files: plan.accepted, reason }, 'CRL file changed but the TLS contexts refused it; the CRLs in force stay');
          return { accepted: [], refused: [...plan.refused, ...plan.accepted.map((path) => ({ path, reason }))] };
        }
        crls = plan.files;
        logAccepted(plan.accepted, crls, 'file changed');
        await baselines.raiseFrom(crls, new Date(), log);
        return { accepted: plan.accepted, refused: plan.refused };
      }),
      async close() {
        watcher.stop();
        closed = true;
        // A CRL refresh under way finishes before the database it builds from closes.
        await applying;
        if (housekeeping) clearInterval(housekeeping);
        accountingHousekeeping.stop();
        auditHousekeeping.stop();
        metrics.process.stop();
        await health?.close();
        await portal?.close();
        await Promise.all(servers.map((s) => s.close()));
        await accounting?.close();
        await eap.close();
        await brski?.close();
        await stores.close();
      },
    };
    watcher.start(config.tls.crlPollSeconds * 1000);
    return running;
  } catch (err) {
    crlWatcher?.stop();
    await brski?.close().catch(() => undefined);
    await stores.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Settings bound to sockets, tables or services made at start: a reload leaves them as they are
 * and names the ones that differ, so the operator knows a restart is needed.
 */
function restartOnlyChanges(running: GangwayConfig, next: GangwayConfig): string[] {
  const pieces: [string, unknown, unknown][] = [
    ['server.listen', running.listen, next.listen],
    ['server.workers', running.workers, next.workers],
    ['server.warmup', running.warmup, next.warmup],
    ['accounting.listen', running.accounting.listen, next.accounting.listen],
    ['store', running.store, next.store],
    ['portal', running.portal, next.portal],
    ['health', running.health, next.health],
    ['brski', running.brski, next.brski],
    ['log.level', running.log, next.log],
    ['radius.replyCacheSeconds', running.radius.replyCacheMs, next.radius.replyCacheMs],
    ['radius.maxInFlight', running.radius.maxInFlight, next.radius.maxInFlight],
    ['eap limits (packetSize, maxSessions, idleTimeoutSeconds, maxRounds, maxInvalidPackets)',
      [running.eap.packetSize, running.eap.maxSessions, running.eap.idleTimeoutMs, running.eap.maxRounds, running.eap.maxInvalidPackets],
      [next.eap.packetSize, next.eap.maxSessions, next.eap.idleTimeoutMs, next.eap.maxRounds, next.eap.maxInvalidPackets]],
  ];
  return pieces.filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b)).map(([key]) => key);
}

/**
 * The password lockout survives rebuilds while its policy stays the same: a reload (or a CRL
 * refresh, which may come daily) must not hand a guesser fresh counters.
 */
function keptLockouts(stores: Stores, metrics: GangwayMetrics, log: Log): (policy: GangwayConfig['passwordLockout']) => PasswordLockout {
  let kept: { policy: string; lockout: PasswordLockout } | undefined;
  return (policy) => {
    const key = JSON.stringify(policy);
    if (kept?.policy !== key) kept = { policy: key, lockout: createAuditedLockout(policy, metrics.wrapStore('audit', stores.audit), log, (scope) => metrics.passwordLockout(scope)) };
    return kept.lockout;
  };
}

/** Says once per CRL when one in force passes its nextUpdate, and why clients now fail. */
function staleCrlReporter(log: Log): (crls: CrlsInForce, now: Date) => void {
  const said = new Set<string>();
  return (crls, now) => {
    for (const [file, f] of crls) {
      for (const c of f.facts) {
        if (c.nextUpdate === undefined || c.nextUpdate >= now) continue;
        const key = `${file}|${c.issuerKey}|${c.nextUpdate.getTime()}`;
        if (said.has(key)) continue;
        if (said.size > 1024) said.clear();
        said.add(key);
        log.error(
          { file, issuer: c.issuer, nextUpdate: c.nextUpdate.toISOString() },
          'CRL in force is past its nextUpdate: OpenSSL refuses every certificate it covers until a newer CRL is written to the file',
        );
      }
    }
  };
}


/**
 * Unfinished registrations are dropped after their lifetime (RFC 9140 §3.2.3 keeps them at least a
 * day), unbound ones after theirs: checked four times per unbound lifetime, at most hourly.
 */
function startNoobHousekeeping(store: NoobPeerStore, noob: ResolvedNoobConfig, log: Log): NodeJS.Timeout {
  const timer = setInterval(() => {
    purgeExpiredRegistrations(store, noob).then(
      (n) => n > 0 && log.info({ removed: n }, 'EAP-NOOB: expired unfinished registrations removed'),
      (err: unknown) => log.error({ err }, 'EAP-NOOB housekeeping failed'),
    );
  }, Math.max(60_000, Math.min(3_600_000, noob.unboundLifetime * 250)));
  timer.unref();
  return timer;
}

/** What a purge removed, for its log line. */
const RETAINED = { audit: 'entries', accounting: 'sessions (ended, or not heard of since)' } as const;

/**
 * `audit.retentionDays` and `accounting.retentionDays`: rows past the retention are deleted at the
 * start and every hour after; 0 keeps them all (no timer). A purge still running when the next is
 * due is not doubled, and one still running at a reload or a stop ends before its next batch.
 */
function startRetentionHousekeeping(what: 'audit' | 'accounting', store: Retention, retentionDays: number, log: Log): { stop(): void } {
  if (retentionDays === 0) return { stop: () => undefined };
  let running = false;
  const abort = new AbortController();
  const purge = (): void => {
    if (running || abort.signal.aborted) return;
    running = true;
    store.purgeBefore(new Date(Date.now() - retentionDays * 86_400_000), abort.signal).then(
      (removed: number) => {
        const stopped = abort.signal.aborted ? { stoppedByReloadOrStop: true } : {};
        if (removed > 0) log.info({ removed, retentionDays, ...stopped }, `${what}: ${RETAINED[what]} past their retention removed`);
      },
      // Aborted: the database may be closing under a purge between two of its batches.
      (err: unknown) => !abort.signal.aborted && log.error({ err, removed: err instanceof PurgeFailedError ? err.removed : 0 }, `${what} housekeeping failed`),
    ).finally(() => { running = false; });
  };
  const first = setImmediate(purge);
  const timer = setInterval(purge, 3_600_000);
  timer.unref();
  return {
    stop: () => {
      abort.abort();
      clearImmediate(first);
      clearInterval(timer);
    },
  };
}
