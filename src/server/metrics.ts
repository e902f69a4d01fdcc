/**
 * Gangway's metrics (`GET /metrics`, docs/deployment.md): what the RADIUS listeners, the EAP core,
 * the stores and the password lockout report, and what is read from the session table, the
 * shedding monitor and the store when scraped.
 *
 * Label values are configured names (RADIUS clients, EAP methods, stores and their operations) or
 * fixed words of the code; never an identity, an address, a MAC, a key, or text from a packet.
 * Children are resolved on first use and kept, so a packet costs a Map lookup and an addition.
 */
import { performance } from 'node:perf_hooks';
import { ACCOUNTING_DROP_REASONS, type AccountingDropReason } from '../radius/accounting-server.js';
import { RadiusCode } from '../radius/packet.js';
import type { RadiusObserver } from '../radius/observer.js';
import { DROP_REASONS, type DropReason } from '../radius/server.js';
import { CONVERSATION_ENDS, STRAY_REASONS, type ConversationEnd, type EapObserver, type StrayReason } from '../eap-methods/observer.js';
import type { SessionTableStats } from '../eap-methods/session-table.js';
import type { LockoutScope } from '../eap-methods/password-lockout.js';
import type { StoreLiveness } from '../store/liveness.js';
import { CounterChild, HistogramChild, MetricRegistry, type CounterFamily, type FamilySnapshot, type HistogramFamily } from '../metrics/registry.js';
import { registerProcessMetrics, type ProcessMetrics } from '../metrics/process-metrics.js';
import { SHEDDING_REASONS, type SheddingMonitor } from '../util/shedding.js';
import { CONNECTION_LIMITS, type ConnectionLimit } from '../util/connection-cap.js';
import { timedStore, type OperationTimer, type StoreWrapper } from './store-timing.js';
import { StoreFaults } from './store-faults.js';

/**
 * Seconds: a challenge is answered in well under a millisecond, a TLS handshake step in a few, a
 * TEAP-BRSKI step may call a MASA. Fine steps from 1 to 5 ms, so that a p99 against a 5 ms target
 * (issue 12, `gangway bench`) falls in a bucket that says something.
 */
export const REQUEST_SECONDS = [0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: SQLite answers in microseconds; the tail is a busy WAL checkpoint or a slow disk. */
const STORE_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
/** Exchanges: EAP-TLS takes 4–8, TEAP with a password 8–12, TEAP-BRSKI more; the limit is eap.maxRounds. */
const ROUND_TRIPS = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 50];

const TLS_ENGINES = ['openssl', 'node'] as const;
/** Ended by the session table, not by a decision: no round-trip count is recorded for these. */
const UNDECIDED: ReadonlySet<ConversationEnd> = new Set(['idle-timeout', 'evicted', 'replaced', 'shutdown']);

const CODE_NAMES = new Map<number, string>([
  [RadiusCode.AccessRequest, 'Access-Request'],
  [RadiusCode.AccessAccept, 'Access-Accept'],
  [RadiusCode.AccessReject, 'Access-Reject'],
  [RadiusCode.AccountingRequest, 'Accounting-Request'],
  [RadiusCode.AccountingResponse, 'Accounting-Response'],
  [RadiusCode.AccessChallenge, 'Access-Challenge'],
  [RadiusCode.StatusServer, 'Status-Server'],
]);

/** Any other Code a client sends is counted as `other`: 256 values would be bounded, but useless. */
function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? 'other';
}

type Service = 'authentication' | 'accounting';

interface RadiusFamilies {
  requests: CounterFamily<'service' | 'client' | 'code'>;
  responses: CounterFamily<'service' | 'client' | 'code'>;
  statusServer: CounterFamily<'service' | 'client'>;
  replays: CounterFamily<'service' | 'client'>;
  dropped: CounterFamily<'service' | 'reason'>;
  duration: HistogramFamily<'service' | 'code'>;
}

/** One client's children, by RADIUS Code, made when first needed. */
class ClientChildren {
  private readonly requestsByCode = new Map<number, CounterChild>();
  private readonly responsesByCode = new Map<number, CounterChild>();
  private statusServerChild: CounterChild | undefined;
  private replaysChild: CounterChild | undefined;

  constructor(private readonly f: RadiusFamilies, private readonly service: Service, private readonly client: string) {}

  requests(code: number): CounterChild {
    let child = this.requestsByCode.get(code);
    if (!child) {
      // Codes outside the known ones share the `other` child, but each keeps its own entry here.
      child = this.f.requests.labels({ service: this.service, client: this.client, code: codeName(code) });
      this.requestsByCode.set(code, child);
    }
    return child;
  }

  responses(code: number): CounterChild {
    let child = this.responsesByCode.get(code);
    if (!child) {
      child = this.f.responses.labels({ service: this.service, client: this.client, code: codeName(code) });
      this.responsesByCode.set(code, child);
    }
    return child;
  }

  statusServer(): CounterChild {
    this.statusServerChild ??= this.f.statusServer.labels({ service: this.service, client: this.client });
    return this.statusServerChild;
  }

  replays(): CounterChild {
    this.replaysChild ??= this.f.replays.labels({ service: this.service, client: this.client });
    return this.replaysChild;
  }
}

/** One RADIUS service's traffic (the authentication or the accounting port, however many sockets). */
class RadiusTraffic<R extends string> implements RadiusObserver<R> {
  private readonly clients = new Map<string, ClientChildren>();
  private readonly drops = new Map<string, CounterChild>();
  private readonly durations = new Map<number, HistogramChild>();

  constructor(private readonly f: RadiusFamilies, private readonly service: Service, reasons: readonly R[]) {
    // Every reason is shown from the start, at 0, so that a rate over it exists before the first drop.
    for (const reason of reasons) this.drops.set(reason, f.dropped.labels({ service, reason }));
  }

  request(client: string, code: number): void {
    this.client(client).requests(code).inc();
  }

  answered(client: string, code: number, elapsedMs: number): void {
    this.client(client).responses(code).inc();
    let duration = this.durations.get(code);
    if (!duration) {
      duration = this.f.duration.labels({ service: this.service, code: codeName(code) });
      this.durations.set(code, duration);
    }
    duration.observe(elapsedMs / 1000);
  }

  replayed(client: string): void {
    this.client(client).replays().inc();
  }

  statusServerAnswered(client: string): void {
    this.client(client).statusServer().inc();
  }

  dropped(reason: R): void {
    this.drops.get(reason)?.inc();
  }

  private client(name: string): ClientChildren {
    let children = this.clients.get(name);
    if (!children) {
      children = new ClientChildren(this.f, this.service, name);
      this.clients.set(name, children);
    }
    return children;
  }
}

interface MethodChildren {
  started: CounterChild;
  ended: Record<ConversationEnd, CounterChild>;
  roundTrips: { success: HistogramChild; failure: HistogramChild };
}

class EapCounts implements EapObserver {
  private readonly methods = new Map<string, MethodChildren>();
  private readonly strays: Record<StrayReason, CounterChild>;
  private readonly invalid: CounterChild;

  constructor(
    private readonly f: {
      started: CounterFamily<'method'>;
      ended: CounterFamily<'method' | 'outcome'>;
      roundTrips: HistogramFamily<'method' | 'result'>;
      invalid: CounterFamily<never>;
      stray: CounterFamily<'reason'>;
    },
  ) {
    this.strays = Object.fromEntries(STRAY_REASONS.map((reason) => [reason, f.stray.labels({ reason })])) as Record<StrayReason, CounterChild>;
    this.invalid = f.invalid.labels();
  }

  methodStarted(method: string): void {
    this.method(method).started.inc();
  }

  conversationEnded(method: string | undefined, end: ConversationEnd, roundTrips: number): void {
    const m = this.method(method ?? 'none');
    m.ended[end].inc();
    if (!UNDECIDED.has(end)) (end === 'success' ? m.roundTrips.success : m.roundTrips.failure).observe(roundTrips);
  }

  invalidResponse(): void {
    this.invalid.inc();
  }

  stray(reason: StrayReason): void {
    this.strays[reason].inc();
  }

  private method(name: string): MethodChildren {
    let children = this.methods.get(name);
    if (!children) {
      const f = this.f;
      children = {
        started: f.started.labels({ method: name }),
        ended: Object.fromEntries(CONVERSATION_ENDS.map((outcome) => [outcome, f.ended.labels({ method: name, outcome })])) as Record<ConversationEnd, CounterChild>,
        roundTrips: { success: f.roundTrips.labels({ method: name, result: 'success' }), failure: f.roundTrips.labels({ method: name, result: 'failure' }) },
      };
      this.methods.set(name, children);
    }
    return children;
  }
}

/** Gangway's HTTP(S) listeners, as `gangway_http_connections_refused_total` names them. */
export type HttpListener = 'portal' | 'brski-https' | 'health';

/** What is read when scraped. */
export interface MetricSources {
  conversations: () => SessionTableStats;
  shedding: SheddingMonitor;
  /** Access-Requests inside the handler, over every authentication socket. */
  inFlight: () => number;
  store: StoreLiveness;
}

export class GangwayMetrics {
  readonly registry = new MetricRegistry();
  readonly authentication: RadiusObserver<DropReason>;
  readonly accounting: RadiusObserver<AccountingDropReason>;
  readonly eap: EapObserver;
  readonly process: ProcessMetrics;
  /** Hands a store out timed (`gangway_store_operation_duration_seconds`). */
  readonly wrapStore: StoreWrapper;
  /** The timed store calls' failures that are the database's own (store-faults.ts). */
  readonly storeFaults = new StoreFaults();
  private readonly lockouts: Record<LockoutScope, CounterChild>;
  private readonly engines: Record<(typeof TLS_ENGINES)[number], { set(v: number): void }>;
  private readonly workerCount: { set(v: number): void };
  private readonly connectionsRefused: CounterFamily<'listener' | 'limit'>;
  /** With worker threads: their counters and histograms, asked for at each scrape. */
  private fromWorkers: (() => Promise<FamilySnapshot[]>) | undefined;

  constructor() {
    const r = this.registry;
    const radius: RadiusFamilies = {
      requests: r.counter('gangway_radius_requests_total', 'RADIUS packets received from configured clients, by service (port), client name and Code.', ['service', 'client', 'code']),
      responses: r.counter('gangway_radius_responses_total', 'Replies to Access-Requests and Accounting-Requests decided by the server (not replays, not Status-Server answers), by service, client name and Code.', ['service', 'client', 'code']),
      statusServer: r.counter('gangway_radius_status_server_answers_total', 'Status-Server queries answered (RFC 5997), by service and client name.', ['service', 'client']),
      replays: r.counter('gangway_radius_replays_total', 'Retransmissions answered from the reply cache, by service and client name.', ['service', 'client']),
      dropped: r.counter('gangway_radius_dropped_total', 'RADIUS packets dropped without an answer, by service and reason.', ['service', 'reason']),
      duration: r.histogram('gangway_radius_request_duration_seconds', 'From a request\'s datagram arriving to its reply being sent, by service and reply Code.', ['service', 'code'], REQUEST_SECONDS),
    };
    this.authentication = new RadiusTraffic(radius, 'authentication', DROP_REASONS);
    this.accounting = new RadiusTraffic(radius, 'accounting', ACCOUNTING_DROP_REASONS);

    this.eap = new EapCounts({
      started: r.counter('gangway_eap_methods_started_total', 'EAP method sessions begun (after Identity, or after a Nak chose another method), by method.', ['method']),
      ended: r.counter('gangway_eap_conversations_ended_total', 'EAP conversations ended, by the method running then ("none" before Identity) and outcome.', ['method', 'outcome']),
      roundTrips: r.histogram('gangway_eap_round_trips', 'RADIUS exchanges an EAP conversation took until its success or failure, by method and result.', ['method', 'result'], ROUND_TRIPS),
      invalid: r.counter('gangway_eap_invalid_responses_total', 'EAP Responses ignored within a conversation (the last Request was sent again).'),
      stray: r.counter('gangway_eap_stray_responses_total', 'EAP packets rejected for belonging to no conversation, by reason.', ['reason']),
    });

    const storeDuration = r.histogram('gangway_store_operation_duration_seconds', 'Store calls made by the RADIUS path, by store and operation.', ['store', 'operation'], STORE_SECONDS);
    const storeFailures = r.counter('gangway_store_operation_failures_total', 'Store calls that threw or rejected, by store and operation.', ['store', 'operation']);
    const faults = this.storeFaults;
    const timers = (store: string, operation: string): OperationTimer => {
      const duration = storeDuration.labels({ store, operation });
      let failures: CounterChild | undefined;
      const named = `${store}.${operation}`;
      return {
        done(startedAt, ok, err) {
          duration.observe((performance.now() - startedAt) / 1000);
          if (!ok) (failures ??= storeFailures.labels({ store, operation })).inc();
          faults.note(named, ok ? undefined : err);
        },
      };
    };
    this.wrapStore = (store, target) => timedStore(store, target, timers);

    const lockouts = r.counter('gangway_password_lockouts_total', 'Password lockouts begun, by scope (an account, or a NAS spraying many names).', ['scope']);
    this.lockouts = { account: lockouts.labels({ scope: 'account' }), nas: lockouts.labels({ scope: 'nas' }) };
    const engine = r.gauge('gangway_tls_engine', 'The TLS engine of EAP-TLS and TEAP: 1 for the one in use.', ['engine']);
    this.engines = { openssl: engine.labels({ engine: 'openssl' }), node: engine.labels({ engine: 'node' }) };
    this.workerCount = r.gauge('gangway_workers', 'Threads running the EAP side: worker threads, or 1 when it runs in the main thread.').labels();
    this.workerCount.set(1);
    this.connectionsRefused = r.counter('gangway_http_connections_refused_total', 'Connections to an HTTP(S) listener closed as they were accepted, by listener and the cap that refused them (address: too many open from one source address; total: the listener full).', ['listener', 'limit']);
    this.process = registerProcessMetrics(r);
  }

  /**
   * The EAP side runs in `count` worker threads: at each scrape their counters and histograms
   * (`pull`) are summed into this registry's, by label values.
   */
  workers(count: number, pull: () => Promise<FamilySnapshot[]>): void {
    this.workerCount.set(count);
    this.fromWorkers = pull;
  }

  /** What a worker thread sends when scraped: Gangway's own counters and histograms (process metrics are the primary's). */
  snapshot(): FamilySnapshot[] {
    return this.registry.snapshot((name) => name.startsWith('gangway_'));
  }

  /** What an HTTP(S) listener calls for each connection its caps refuse; both limits are shown from the start, at 0. */
  connectionRefusals(listener: HttpListener): (limit: ConnectionLimit) => void {
    const children = new Map(CONNECTION_LIMITS.map((limit) => [limit, this.connectionsRefused.labels({ listener, limit })] as const));
    return (limit) => children.get(limit)?.inc();
  }

  passwordLockout(scope: LockoutScope): void {
    this.lockouts[scope].inc();
  }

  tlsEngine(inUse: 'openssl' | 'node'): void {
    for (const name of TLS_ENGINES) this.engines[name].set(name === inUse ? 1 : 0);
  }

  /**
   * `inner` (the liveness read) that also fails while a timed store operation keeps failing with
   * an error of the database itself: what `/healthz` and `gangway_store_up` ask.
   */
  faultAwareLiveness(inner: StoreLiveness): StoreLiveness {
    return {
      check: () => {
        const fault = this.storeFaults.current();
        if (fault) return Promise.reject(new Error(`${fault.operation} failed ${fault.inARow} times in a row: ${fault.error}`));
        return inner.check();
      },
    };
  }

  /** The gauges and totals kept by other parts, read at each scrape. Call once. */
  watch(sources: MetricSources): void {
    const r = this.registry;
    const conversations = r.gauge('gangway_eap_conversations', 'EAP conversations in the session table, by progress.', ['progress']);
    const fresh = conversations.labels({ progress: 'fresh' });
    const progressing = conversations.labels({ progress: 'progressing' });
    const established = conversations.labels({ progress: 'established' });
    const nases = r.gauge('gangway_eap_nas_with_conversations', 'NAS (client entry and source address) holding conversations now.').labels();
    const admission = r.counter('gangway_eap_admission_shed_total', 'New conversations that made an older one give way (evicted) or found no room (refused).', ['decision']);
    const evicted = admission.labels({ decision: 'evicted' });
    const refused = admission.labels({ decision: 'refused' });
    const shedding = r.gauge('gangway_shedding', '1 while the server is shedding load (Status-Server unanswered, /healthz 503).').labels();
    const sheddingFamily = r.counter('gangway_shedding_events_total', 'Evictions, refusals and overload drops noted by the shedding monitor, by reason.', ['reason']);
    const sheddingEvents = SHEDDING_REASONS.map((reason) => [reason, sheddingFamily.labels({ reason })] as const);
    const inFlight = r.gauge('gangway_radius_requests_in_flight', 'Access-Requests being handled now.').labels();
    const storeUp = r.gauge('gangway_store_up', '1 when the store answered its liveness read at this scrape and no store operation keeps failing with an error of the database itself.').labels();
    r.onScrape(async () => {
      const stats = sources.conversations();
      fresh.set(stats.fresh);
      progressing.set(stats.progressing);
      established.set(stats.established);
      nases.set(stats.clients);
      evicted.mirror(stats.evicted);
      refused.mirror(stats.refused);
      const snapshot = sources.shedding.snapshot();
      shedding.set(snapshot.shedding ? 1 : 0);
      for (const [reason, child] of sheddingEvents) child.mirror(snapshot.reasons[reason] ?? 0);
      inFlight.set(sources.inFlight());
      storeUp.set(await sources.store.check().then(() => 1, () => 0));
    });
  }

  async render(): Promise<string> {
    const extra = this.fromWorkers ? await this.fromWorkers() : [];
    return this.registry.render(extra);
  }
}
