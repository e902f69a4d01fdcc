/**
 * Where EAP conversations run: in the main thread (one worker, the default for `startGangway`), or
 * in worker threads (src/server/workers/) that the main thread feeds. Either way the RADIUS layer,
 * the reply cache and the limits counted per request stay in the main thread; this is the one
 * place that differs.
 */
import type { GangwayConfig } from '../config/config.js';
import { EapAuthenticator } from '../eap-methods/authenticator.js';
import type { SessionTableStats } from '../eap-methods/session-table.js';
import type { MethodRegistry } from '../eap-methods/registry.js';
import type { MethodSelector } from '../eap-methods/method-selection.js';
import type { ResolvedNoobConfig } from '../noob/config.js';
import type { AccessReply } from '../radius/access-reply.js';
import type { AccessRequestContext } from '../radius/server.js';
import type { NoobPeerStore } from '../store/noob-peers.js';
import type { Stores } from '../store/stores.js';
import type { BrskiServices } from '../teap-brski/brski/setup.js';
import type { Log } from '../util/log.js';
import type { SheddingMonitor } from '../util/shedding.js';
import type { Authorizer } from './authorizer.js';
import { buildMethods, eapLimitsOf, noobConfigOf, type LockoutKeeper, type TlsMaterial } from './eap-build.js';
import type { GangwayMetrics } from './metrics.js';
import { handleAccessRequest } from './radius-eap-bridge.js';
import { WorkerPool } from './workers/pool.js';
import type { WorkerLogLevel, WorkerMaterial } from './workers/protocol.js';
import type { WorkerPoolTimings } from './workers/pool.js';

export interface EapSideDeps {
  stores: Stores;
  noobStore: NoobPeerStore;
  brski: BrskiServices | undefined;
  metrics: GangwayMetrics;
  lockoutFor: LockoutKeeper;
  log: Log;
  shedding: SheddingMonitor;
  /** The credential policy of a configuration, for the methods it has. */
  authorizerFor: (config: GangwayConfig, methods: string[]) => Authorizer;
}

export interface EapSide {
  /** The authenticator, when conversations run in this thread. */
  readonly eap: EapAuthenticator | undefined;
  /** Threads running conversations. */
  readonly threads: number;
  /** Every session table together. */
  readonly admission: SessionTableStats;
  /** The build in force: its methods, its EAP-NOOB settings and its TLS engine. */
  readonly methods: string[];
  readonly noob: ResolvedNoobConfig | undefined;
  /** The credential policy in force in this thread (the portal's, and this thread's requests'). */
  readonly authorizer: Authorizer;
  handle(req: AccessRequestContext, log: Log): Promise<AccessReply | null>;
  /** Builds `config` everywhere, then switches to it; if any build fails, it throws and nothing changes. */
  apply(config: GangwayConfig, material: TlsMaterial, crl: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

class InThread implements EapSide {
  readonly threads = 1;
  methods: string[];
  noob: ResolvedNoobConfig | undefined;
  authorizer: Authorizer;

  private constructor(
    readonly eap: EapAuthenticator,
    /** What the authenticator holds: a rebuild's methods and rules are copied into these. */
    private readonly registry: MethodRegistry,
    private readonly selector: MethodSelector,
    built: { methods: string[]; noob: ResolvedNoobConfig | undefined; authorizer: Authorizer },
    private readonly deps: EapSideDeps,
  ) {
    this.methods = built.methods;
    this.noob = built.noob;
    this.authorizer = built.authorizer;
  }

  static async start(config: GangwayConfig, material: TlsMaterial, crl: Buffer[], deps: EapSideDeps): Promise<InThread> {
    const { log, metrics } = deps;
    const built = await buildMethods(config, material, crl, deps.stores, deps.noobStore, deps.brski, metrics, deps.lockoutFor, log);
    metrics.tlsEngine(built.engine);
    const authorizer = deps.authorizerFor(config, built.registry.names());
    const eap = new EapAuthenticator(built.registry, built.selector, eapLimitsOf(config), log.child({ module: 'eap' }), Date.now, deps.shedding, metrics.eap);
    return new InThread(eap, built.registry, built.selector, { methods: built.registry.names(), noob: built.noob, authorizer }, deps);
  }

  get admission(): SessionTableStats {
    return this.eap.admission;
  }

  handle(req: AccessRequestContext, log: Log): Promise<AccessReply | null> {
    const authorizer = this.authorizer;
    return handleAccessRequest(this.eap, req.packet, req.client, (grant) => authorizer.authorize(grant), log);
  }

  async apply(config: GangwayConfig, material: TlsMaterial, crl: Buffer[]): Promise<void> {
    const { deps } = this;
    const built = await buildMethods(config, material, crl, deps.stores, deps.noobStore, deps.brski, deps.metrics, deps.lockoutFor, deps.log);
    const authorizer = deps.authorizerFor(config, built.registry.names());
    this.registry.replaceWith(built.registry);
    this.selector.replaceWith(built.selector);
    this.authorizer = authorizer;
    this.methods = built.registry.names();
    this.noob = built.noob;
    deps.metrics.tlsEngine(built.engine);
  }

  async close(): Promise<void> {
    this.eap.close();
  }
}

function workerMaterial(material: TlsMaterial, crl: Buffer[]): WorkerMaterial {
  return { cert: material.cert, key: material.key, ca: material.ca, crl };
}

class InWorkers implements EapSide {
  readonly eap = undefined;
  methods: string[];
  noob: ResolvedNoobConfig | undefined;
  authorizer: Authorizer;

  private constructor(private readonly pool: WorkerPool, config: GangwayConfig, methods: string[], private readonly deps: EapSideDeps) {
    this.methods = methods;
    this.noob = noobConfigOf(config);
    this.authorizer = deps.authorizerFor(config, methods);
  }

  static async start(
    config: GangwayConfig,
    material: TlsMaterial,
    crl: Buffer[],
    deps: EapSideDeps,
    opts: { count: number; logLevel: WorkerLogLevel; onLost: (err: Error) => void; timings?: Partial<WorkerPoolTimings> },
  ): Promise<InWorkers> {
    // The lockout of the configuration in force, asked by every worker.
    let policy = config.passwordLockout;
    const { pool, built } = await WorkerPool.start({
      count: opts.count,
      config,
      material: workerMaterial(material, crl),
      logLevel: opts.logLevel,
      log: deps.log,
      lockout: () => deps.lockoutFor(policy),
      shedding: deps.shedding,
      onLost: opts.onLost,
      ...(opts.timings ? { timings: opts.timings } : {}),
    });
    deps.metrics.tlsEngine(built.engine);
    deps.metrics.workers(opts.count, () => pool.scrape());
    const side = new InWorkers(pool, config, built.methods, deps);
    side.followPolicy = (p) => {
      policy = p;
    };
    return side;
  }

  private followPolicy: (p: GangwayConfig['passwordLockout']) => void = () => undefined;

  get threads(): number {
    return this.pool.count;
  }

  get admission(): SessionTableStats {
    return this.pool.admission;
  }

  handle(req: AccessRequestContext): Promise<AccessReply | null> {
    return this.pool.handle(req.bytes, req.packet, req.client, req.deadline);
  }

  async apply(config: GangwayConfig, material: TlsMaterial, crl: Buffer[]): Promise<void> {
    const noob = noobConfigOf(config);
    const built = await this.pool.reload(config, workerMaterial(material, crl));
    this.followPolicy(config.passwordLockout);
    this.methods = built.methods;
    this.noob = noob;
    this.authorizer = this.deps.authorizerFor(config, built.methods);
    this.deps.metrics.tlsEngine(built.engine);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Conversations in this thread (`threads` 1) or in that many worker threads. */
export function startEapSide(
  config: GangwayConfig,
  material: TlsMaterial,
  crl: Buffer[],
  deps: EapSideDeps,
  opts: { threads: number; logLevel: WorkerLogLevel; onLost: (err: Error) => void; timings?: Partial<WorkerPoolTimings> },
): Promise<EapSide> {
  if (opts.threads <= 1) return InThread.start(config, material, crl, deps);
  return InWorkers.start(config, material, crl, deps, { count: opts.threads, logLevel: opts.logLevel, onLost: opts.onLost, ...(opts.timings ? { timings: opts.timings } : {}) });
}
