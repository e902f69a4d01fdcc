/**
 * The primary's side of the worker threads: starts them, sends each Access-Request to the worker
 * the router names, answers their password-lockout questions from the one lockout, sums what they
 * report (admission, shedding, metrics), and changes their configuration together: every worker
 * builds the new one first, and only when all have built does any switch (else none does).
 * A worker that exits, or stops answering (a prepare, commit or discard past its time, or pings
 * unanswered: its event loop is blocked), is lost: terminated, routed around, and reported.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../config/config-error.js';
import type { GangwayConfig } from '../../config/config.js';
import type { AccessReply } from '../../radius/access-reply.js';
import { AttributeType } from '../../radius/dictionary.js';
import { getStringAttribute, joinEapMessage } from '../../radius/attributes.js';
import { getAttribute, type RadiusPacket } from '../../radius/packet.js';
import { EapCode, EapType } from '../../eap-methods/eap-packet.js';
import { stationKey, type SessionTableStats } from '../../eap-methods/session-table.js';
import type { LockoutGate } from '../../eap-methods/password-lockout.js';
import type { FamilySnapshot } from '../../metrics/registry.js';
import { silentLog, type Log } from '../../util/log.js';
import { LOG_CAPTURE_ENV } from '../../util/log-capture.js';
import type { SheddingMonitor } from '../../util/shedding.js';
import { ConversationRouter } from './routing.js';
import { WORKER_LOG_RANK, type FromWorker, type ToWorker, type WorkerBuilt, type WorkerError, type WorkerInit, type WorkerLogLevel, type WorkerMaterial, type WorkerRequest } from './protocol.js';

/** Relative to this module, which sits three levels below the package root in src/ and in dist/ alike. */
const WORKER_SCRIPT = new URL('../../../dist/server/workers/worker-main.js', import.meta.url);
const CLOSE_TIMEOUT_MS = 5000;

/** How long the pool waits for a worker; tests shorten them. */
export interface WorkerPoolTimings {
  /** A prepare, commit or discard unanswered this long loses its worker (a build reads no file: seconds at most). */
  controlMs: number;
  /** Every worker is pinged this often (and requests the RADIUS layer gave up on are let go). */
  pingMs: number;
  /** A worker that sends nothing for this long, pings unanswered, is lost: its event loop is blocked. */
  lostAfterMs: number;
  /** A scrape waits this long for a worker; a late one counts with the numbers it last sent. */
  scrapeMs: number;
}

export const DEFAULT_WORKER_POOL_TIMINGS: WorkerPoolTimings = { controlMs: 30_000, pingMs: 5000, lostAfterMs: 15_000, scrapeMs: 5000 };

export interface WorkerPoolOptions {
  count: number;
  config: GangwayConfig;
  material: WorkerMaterial;
  logLevel: WorkerLogLevel;
  log: Log;
  /** The lockout in force (it changes with a reload's policy). */
  lockout: () => LockoutGate;
  shedding: SheddingMonitor;
  /**
   * A worker exited or stopped answering while the pool was running (it is terminated first). Its
   * conversations are gone; `gangway serve` exits. Should this return, the pool goes on without it.
   */
  onLost: (err: Error) => void;
  timings?: Partial<WorkerPoolTimings>;
}

const EMPTY_ADMISSION: SessionTableStats = { conversations: 0, fresh: 0, progressing: 0, established: 0, clients: 0, evicted: 0, refused: 0 };

interface Waiter {
  resolve(m: FromWorker): void;
  reject(err: Error): void;
  /** An Access-Request's: when the RADIUS layer gives up on it (Date.now() time). */
  deadline?: number;
}

class Slot {
  inHand = 0;
  /** Requests of this event-loop turn, sent as one message when it ends. */
  outbox: WorkerRequest[] = [];
  outboxTransfer: ArrayBuffer[] = [];
  /** Built its EAP side and answers messages. */
  ready = false;
  exited = false;
  /** Exited, or terminated for not answering: routed around, its States unknown. */
  lost = false;
  /** When it last sent anything (Date.now() time). */
  lastHeard = 0;
  admission: SessionTableStats = EMPTY_ADMISSION;
  /** Its counters and histograms as it last sent them: a late or lost worker's still count. */
  families: FamilySnapshot[] = [];
  readonly waiting = new Map<number, Waiter>();

  constructor(readonly index: number, readonly worker: Worker) {}
}

function errorFrom(e: WorkerError, worker: number): Error {
  return e.key !== undefined ? new ConfigError(e.key, e.why) : new Error(`worker ${worker}: ${e.why}`);
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly router: ConversationRouter;
  private readonly timings: WorkerPoolTimings;
  private nextId = 1;
  private closing = false;
  private pinger: NodeJS.Timeout | undefined;
  /** Child loggers by worker and module (conversation bindings travel as fields). */
  private readonly childLogs = new Map<string, Log>();
  /** Under the test suite's log capture: workers' lines below `logLevel` go to it alone. */
  private readonly capture: Log | undefined = process.env[LOG_CAPTURE_ENV] ? silentLog() : undefined;

  private constructor(private readonly opts: WorkerPoolOptions) {
    this.timings = { ...DEFAULT_WORKER_POOL_TIMINGS, ...opts.timings };
    // Twice the idle timeout: a conversation lingers until the table's next sweep after it.
    this.router = new ConversationRouter(opts.count, 2 * opts.config.eap.idleTimeoutMs, opts.config.eap.maxSessions);
  }

  /** Starts `count` workers and waits until each has built its EAP side; the first failure stops them all. */
  static async start(opts: WorkerPoolOptions): Promise<{ pool: WorkerPool; built: WorkerBuilt }> {
    const pool = new WorkerPool(opts);
    const ready: Promise<WorkerBuilt>[] = [];
    for (let index = 0; index < opts.count; index++) ready.push(pool.spawn(index));
    const outcomes = await Promise.allSettled(ready);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    pool.pinger = setInterval(() => pool.tick(), pool.timings.pingMs);
    pool.pinger.unref();
    return { pool, built: (outcomes[0] as PromiseFulfilledResult<WorkerBuilt>).value };
  }

  get count(): number {
    return this.slots.length;
  }

  /** Workers not lost. */
  get alive(): number {
    return this.slots.filter((s) => !s.lost).length;
  }

  /**
   * The workers' session tables together, as of each worker's last reply or ping answer (at most
   * `pingMs` old while it is busy with nothing).
   */
  get admission(): SessionTableStats {
    const sum = { ...EMPTY_ADMISSION };
    for (const s of this.slots) for (const k of Object.keys(sum) as (keyof SessionTableStats)[]) sum[k] += s.admission[k];
    return sum;
  }

  /**
   * Runs one Access-Request in the worker holding its conversation, or the one chosen for a new one.
   * Past `deadline` (when the RADIUS layer gives up on it) the request is let go: it rejects, and a
   * late reply is ignored.
   */
  async handle(bytes: Uint8Array, packet: RadiusPacket, client: { name: string; address: string }, deadline?: number): Promise<AccessReply | null> {
    const callingStationId = getStringAttribute(packet, AttributeType.CallingStationId);
    const station = stationKey(client.name, client.address, callingStationId);
    const state = getAttribute(packet, AttributeType.State);
    const route = this.router.route({ state, station, begins: beginsConversation(packet) }, (i) => this.slots[i]!.inHand);
    const slot = this.slots[route.worker]!;
    slot.inHand++;
    try {
      const m = await this.request(slot, bytes, client, deadline);
      if (m.t === 'reply') {
        slot.admission = m.admission;
        for (const reason of m.shed ?? []) this.opts.shedding.note(reason);
        // The worker knew the State: the station's conversation is still there.
        if (route.byState && station !== undefined && m.reply?.state !== undefined && sameOctets(m.reply.state, state!)) this.router.continued(station, slot.index);
        return m.reply;
      }
      if (m.t === 'reply-failed') {
        slot.admission = m.admission;
        throw new Error(`worker ${slot.index}: ${m.error}`);
      }
      throw new Error(`worker ${slot.index} answered a request with ${m.t}`);
    } finally {
      slot.inHand--;
    }
  }

  /**
   * Builds `config` in every worker, then switches all of them; if one refuses, none switches and
   * its reason is thrown (a ConfigError when it names a key). A worker that does not answer in
   * `controlMs` is lost, and the reload fails.
   */
  async reload(config: GangwayConfig, material: WorkerMaterial): Promise<WorkerBuilt> {
    const live = this.slots.filter((s) => !s.lost);
    if (live.length === 0) throw new Error('no worker thread is left');
    const prepared = await Promise.allSettled(live.map((s) => this.control(s, 'prepare', (id) => ({ t: 'prepare', id, config, material }))));
    const refusal = prepared.findIndex((o) => o.status === 'rejected' || o.value.t !== 'prepared' || o.value.error !== undefined);
    if (refusal >= 0) {
      await Promise.allSettled(live.filter((s) => !s.lost).map((s) => this.control(s, 'discard', (id) => ({ t: 'discard', id }))));
      const o = prepared[refusal]!;
      const worker = live[refusal]!.index;
      if (o.status === 'rejected') throw o.reason;
      throw o.value.t === 'prepared' && o.value.error ? errorFrom(o.value.error, worker) : new Error(`worker ${worker} did not build the configuration`);
    }
    const committed = await Promise.all(live.map((s) => this.control(s, 'commit', (id) => ({ t: 'commit', id }))));
    const first = committed[0];
    if (first?.t !== 'committed') throw new Error(`worker ${live[0]!.index} did not switch to the new configuration`);
    return { engine: first.engine, methods: first.methods };
  }

  /**
   * Every worker's counters and histograms, for /metrics. A worker that does not answer in time, or
   * is lost, counts with what it last sent: a sum that went down would read as a counter reset.
   */
  async scrape(): Promise<FamilySnapshot[]> {
    await Promise.all(this.slots.map(async (s) => {
      if (s.lost) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.timings.scrapeMs);
      });
      try {
        const m = await Promise.race([this.ask(s, (id) => ({ t: 'scrape', id })), late]);
        if (m?.t !== 'scraped') return;
        s.admission = m.admission;
        s.families = m.families;
      } catch {
        // Lost meanwhile: its last numbers stand.
      } finally {
        clearTimeout(timer);
      }
    }));
    return this.slots.flatMap((s) => s.families);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.pinger);
    await Promise.all(this.slots.map(async (s) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      });
      // A worker that never became ready, or is gone, has nothing to close.
      if (s.ready && !s.exited && !s.lost) await Promise.race([this.ask(s, (id) => ({ t: 'close', id })).catch(() => undefined), late]);
      clearTimeout(timer);
      await s.worker.terminate();
    }));
  }

  private spawn(index: number): Promise<WorkerBuilt> {
    const { opts } = this;
    // The suite's secret scan reads every line, debug too (src/util/log-capture.ts).
    const logLevel: WorkerLogLevel = this.capture ? 'debug' : opts.logLevel;
    const init: WorkerInit = { index, count: opts.count, config: opts.config, material: opts.material, logLevel };
    const worker = new Worker(WORKER_SCRIPT, { workerData: init });
    const slot = new Slot(index, worker);
    this.slots.push(slot);
    return new Promise<WorkerBuilt>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromWorker) => {
        slot.lastHeard = Date.now();
        if (m.t === 'ready') {
          started = true;
          slot.ready = true;
          resolve({ engine: m.engine, methods: m.methods });
          return;
        }
        if (m.t === 'start-failed') {
          reject(errorFrom(m.error, index));
          return;
        }
        this.onMessage(slot, m);
      });
      worker.on('error', (err) => {
        if (!started) reject(err);
        else this.lose(slot, `failed: ${err.message}`, err);
      });
      worker.on('exit', (code) => {
        slot.exited = true;
        const err = new Error(`worker ${index} exited (code ${code})`);
        if (!started) {
          this.fail(slot, err);
          reject(err);
        } else {
          this.lose(slot, `exited with code ${code}`, err);
        }
      });
    });
  }

  /** Pings every worker, loses one silent too long, and lets go of requests past their deadline. */
  private tick(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (slot.lost || !slot.ready) continue;
      if (now - slot.lastHeard > this.timings.lostAfterMs) {
        this.lose(slot, `answered nothing for ${now - slot.lastHeard} ms (its event loop is blocked)`, new Error(`worker ${slot.index} stopped answering`));
        continue;
      }
      for (const [id, w] of slot.waiting) {
        if (w.deadline === undefined || w.deadline > now) continue;
        slot.waiting.delete(id);
        w.reject(new Error(`worker ${slot.index}: request abandoned by the RADIUS layer`));
      }
      try {
        this.post(slot, { t: 'ping' });
      } catch (err) {
        this.lose(slot, `cannot be reached: ${(err as Error).message}`, err as Error);
      }
    }
  }

  /** Rejects everything waiting on a worker that is gone. */
  private fail(slot: Slot, err: Error): void {
    for (const w of slot.waiting.values()) w.reject(err);
    slot.waiting.clear();
  }

  private lose(slot: Slot, how: string, err: Error): void {
    if (slot.lost) return;
    slot.lost = true;
    this.router.markLost(slot.index);
    slot.admission = EMPTY_ADMISSION;
    this.fail(slot, err);
    if (!slot.exited) slot.worker.terminate().catch(() => undefined);
    if (this.closing) return;
    this.opts.log.error({ worker: slot.index, err: err.message }, `worker thread ${slot.index} ${how}: its conversations are gone`);
    this.opts.onLost(err);
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'log':
        this.forwardLog(slot, m);
        return;
      case 'pong':
        slot.admission = m.admission;
        return;
      case 'replies':
        for (const r of m.batch) this.onMessage(slot, r);
        return;
      case 'lockout-check':
        Promise.resolve(this.opts.lockout().check(m.account, m.nas)).then(
          (verdict) => this.post(slot, { t: 'lockout', id: m.id, verdict }),
          // Fail closed: a lockout that cannot answer counts this attempt as locked.
          () => this.post(slot, { t: 'lockout', id: m.id, verdict: { locked: true, scope: 'account', until: Date.now() } }),
        );
        return;
      case 'lockout-failure':
        this.opts.lockout().failure(m.account, m.nas, m.attempt);
        return;
      case 'lockout-success':
        this.opts.lockout().success(m.account, m.attempt);
        return;
      case 'lockout-abandon':
        this.opts.lockout().abandon(m.account, m.attempt);
        return;
      default: {
        if (!('id' in m)) return;
        const waiter = slot.waiting.get(m.id);
        slot.waiting.delete(m.id);
        waiter?.resolve(m);
      }
    }
  }

  /**
   * A worker's log line, through a child logger per worker and module (a handful, made once); any
   * other binding (a conversation's) goes with the line's fields.
   */
  private forwardLog(slot: Slot, m: Extract<FromWorker, { t: 'log' }>): void {
    const below = WORKER_LOG_RANK[m.level] < WORKER_LOG_RANK[this.opts.logLevel];
    const to = below ? this.capture : this.opts.log;
    if (to === undefined) return;
    const { worker: _worker, module, ...rest } = m.bindings;
    const key = `${below ? 'capture' : 'log'}|${slot.index}|${typeof module === 'string' ? module : ''}`;
    let log = this.childLogs.get(key);
    if (!log) {
      log = to.child({ worker: slot.index, ...(typeof module === 'string' ? { module } : {}) });
      if (this.childLogs.size < 1024) this.childLogs.set(key, log);
    }
    log[m.level](Object.keys(rest).length > 0 ? { ...rest, ...m.fields } : m.fields, m.msg);
  }

  private request(slot: Slot, bytes: Uint8Array, client: { name: string; address: string }, deadline: number | undefined): Promise<FromWorker> {
    const id = this.nextId++;
    // A buffer of its own, handed over: the datagram's may be larger than its packet.
    const own = new Uint8Array(bytes);
    return new Promise<FromWorker>((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject, ...(deadline !== undefined ? { deadline } : {}) });
      if (slot.outbox.length === 0) setImmediate(() => this.flush(slot));
      slot.outbox.push({ id, bytes: own, client });
      slot.outboxTransfer.push(own.buffer);
    });
  }

  private flush(slot: Slot): void {
    const batch = slot.outbox;
    const transfer = slot.outboxTransfer;
    slot.outbox = [];
    slot.outboxTransfer = [];
    const gone = (err: Error): void => {
      for (const r of batch) {
        const w = slot.waiting.get(r.id);
        slot.waiting.delete(r.id);
        w?.reject(err);
      }
    };
    if (slot.exited || slot.lost) return gone(new Error(`worker ${slot.index} is lost`));
    try {
      slot.worker.postMessage({ t: 'requests', batch } satisfies ToWorker, transfer);
    } catch (err) {
      gone(err as Error);
    }
  }

  /** A prepare, commit or discard: unanswered within `controlMs`, the worker is lost. */
  private async control(slot: Slot, kind: 'prepare' | 'commit' | 'discard', message: (id: number) => ToWorker): Promise<FromWorker> {
    let timer: NodeJS.Timeout | undefined;
    const asked = this.ask(slot, message);
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const how = `did not answer ${kind} within ${this.timings.controlMs} ms`;
        const err = new Error(`worker ${slot.index} ${how}`);
        this.lose(slot, how, err);
        reject(err);
      }, this.timings.controlMs);
    });
    try {
      return await Promise.race([asked, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private ask(slot: Slot, message: (id: number) => ToWorker): Promise<FromWorker> {
    if (slot.lost) return Promise.reject(new Error(`worker ${slot.index} is lost`));
    const id = this.nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject });
      try {
        this.post(slot, message(id));
      } catch (err) {
        slot.waiting.delete(id);
        reject(err as Error);
      }
    });
  }

  private post(slot: Slot, message: ToWorker): void {
    slot.worker.postMessage(message);
  }
}

/**
 * EAP-Start (an empty EAP-Message: the authenticator begins with Identity whatever State says) or
 * an EAP-Response/Identity (it begins from one whenever the State names no live conversation).
 */
function beginsConversation(packet: RadiusPacket): boolean {
  const first = getAttribute(packet, AttributeType.EapMessage);
  if (first === undefined) return false;
  // The header is in the first attribute, unless a NAS split it oddly.
  const eap = first.length >= 5 ? first : joinEapMessage(packet)!;
  if (eap.length === 0) return true;
  return eap.length >= 5 && eap[0] === EapCode.Response && eap[4] === EapType.Identity;
}

function sameOctets(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
