/**
 * The primary's side of the worker threads: starts them, sends each Access-Request to the worker
 * the router names, answers their password-lockout questions from the one lockout, sums what they
 * report (admission, shedding, metrics), and changes their configuration together: every worker
 * builds the new one first, and only when all have built does any switch (else none does).
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../config/config-error.js';
import type { GangwayConfig } from '../../config/config.js';
import type { AccessReply } from '../../radius/access-reply.js';
import { AttributeType } from '../../radius/dictionary.js';
import { getStringAttribute } from '../../radius/attributes.js';
import { getAttribute, type RadiusPacket } from '../../radius/packet.js';
import type { SessionTableStats } from '../../eap-methods/session-table.js';
import type { LockoutGate } from '../../eap-methods/password-lockout.js';
import type { FamilySnapshot } from '../../metrics/registry.js';
import type { Log } from '../../util/log.js';
import type { SheddingMonitor } from '../../util/shedding.js';
import { ConversationRouter } from './routing.js';
import type { FromWorker, ToWorker, WorkerBuilt, WorkerError, WorkerInit, WorkerLogLevel, WorkerMaterial, WorkerRequest } from './protocol.js';

/** Relative to this module, which sits three levels below the package root in src/ and in dist/ alike. */
const WORKER_SCRIPT = new URL('../../../dist/server/workers/worker-main.js', import.meta.url);
/** A scrape does not wait longer than this for a busy worker; its numbers are then left out once. */
const SCRAPE_TIMEOUT_MS = 5000;
const CLOSE_TIMEOUT_MS = 5000;

export interface WorkerPoolOptions {
  count: number;
  config: GangwayConfig;
  material: WorkerMaterial;
  logLevel: WorkerLogLevel;
  log: Log;
  /** The lockout in force (it changes with a reload's policy). */
  lockout: () => LockoutGate;
  shedding: SheddingMonitor;
  /** A worker exited while the pool was running: the process is in no state to go on. */
  onLost: (err: Error) => void;
}

const EMPTY_ADMISSION: SessionTableStats = { conversations: 0, fresh: 0, progressing: 0, established: 0, clients: 0, evicted: 0, refused: 0 };

interface Waiter {
  resolve(m: FromWorker): void;
  reject(err: Error): void;
}

class Slot {
  inHand = 0;
  /** Requests of this event-loop turn, sent as one message when it ends. */
  outbox: WorkerRequest[] = [];
  outboxTransfer: ArrayBuffer[] = [];
  /** Built its EAP side and answers messages. */
  ready = false;
  exited = false;
  admission: SessionTableStats = EMPTY_ADMISSION;
  readonly waiting = new Map<number, Waiter>();

  constructor(readonly index: number, readonly worker: Worker) {}
}

function errorFrom(e: WorkerError, worker: number): Error {
  return e.key !== undefined ? new ConfigError(e.key, e.why) : new Error(`worker ${worker}: ${e.why}`);
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly router: ConversationRouter;
  private nextId = 1;
  private closing = false;
  private readonly childLogs = new Map<string, Log>();

  private constructor(private readonly opts: WorkerPoolOptions) {
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
    return { pool, built: (outcomes[0] as PromiseFulfilledResult<WorkerBuilt>).value };
  }

  get count(): number {
    return this.slots.length;
  }

  /** The workers' session tables together (as last reported, with their latest replies). */
  get admission(): SessionTableStats {
    const sum = { ...EMPTY_ADMISSION };
    for (const s of this.slots) for (const k of Object.keys(sum) as (keyof SessionTableStats)[]) sum[k] += s.admission[k];
    return sum;
  }

  /** Runs one Access-Request in the worker holding its conversation, or the one chosen for a new one. */
  async handle(bytes: Uint8Array, packet: RadiusPacket, client: { name: string; address: string }): Promise<AccessReply | null> {
    const callingStationId = getStringAttribute(packet, AttributeType.CallingStationId);
    // The session table's own station key (session-table.ts), so both agree on what a station is.
    const station = callingStationId ? JSON.stringify([client.name, client.address, callingStationId]) : undefined;
    const slot = this.slots[this.router.route(getAttribute(packet, AttributeType.State), station, (i) => this.slots[i]!.inHand)]!;
    slot.inHand++;
    try {
      const m = await this.request(slot, bytes, client);
      if (m.t === 'reply') {
        slot.admission = m.admission;
        for (const reason of m.shed ?? []) this.opts.shedding.note(reason);
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
   * its reason is thrown (a ConfigError when it names a key).
   */
  async reload(config: GangwayConfig, material: WorkerMaterial): Promise<WorkerBuilt> {
    const prepared = await Promise.all(this.slots.map((s) => this.ask(s, (id) => ({ t: 'prepare', id, config, material }))));
    const refusal = prepared.findIndex((m) => m.t !== 'prepared' || m.error !== undefined);
    if (refusal >= 0) {
      await Promise.all(this.slots.map((s) => this.ask(s, (id) => ({ t: 'discard', id }))));
      const m = prepared[refusal]!;
      throw m.t === 'prepared' && m.error ? errorFrom(m.error, refusal) : new Error(`worker ${refusal} did not build the configuration`);
    }
    const committed = await Promise.all(this.slots.map((s) => this.ask(s, (id) => ({ t: 'commit', id }))));
    const first = committed[0];
    if (first?.t !== 'committed') throw new Error('worker 0 did not switch to the new configuration');
    return { engine: first.engine, methods: first.methods };
  }

  /** Every worker's counters and histograms, for /metrics; a worker that does not answer in time is left out. */
  async scrape(): Promise<FamilySnapshot[]> {
    const answers = await Promise.all(this.slots.map(async (s) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), SCRAPE_TIMEOUT_MS);
      });
      try {
        const m = await Promise.race([this.ask(s, (id) => ({ t: 'scrape', id })), late]);
        if (m?.t !== 'scraped') return [];
        s.admission = m.admission;
        return m.families;
      } catch {
        return [];
      } finally {
        clearTimeout(timer);
      }
    }));
    return answers.flat();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(this.slots.map(async (s) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      });
      // A worker that never became ready, or is gone, has nothing to close.
      if (s.ready && !s.exited) await Promise.race([this.ask(s, (id) => ({ t: 'close', id })).catch(() => undefined), late]);
      clearTimeout(timer);
      await s.worker.terminate();
    }));
  }

  private spawn(index: number): Promise<WorkerBuilt> {
    const { opts } = this;
    const init: WorkerInit = { index, count: opts.count, config: opts.config, material: opts.material, logLevel: opts.logLevel };
    const worker = new Worker(WORKER_SCRIPT, { workerData: init });
    const slot = new Slot(index, worker);
    this.slots.push(slot);
    return new Promise<WorkerBuilt>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromWorker) => {
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
        else this.lost(slot, `failed: ${err.message}`, err);
      });
      worker.on('exit', (code) => {
        slot.exited = true;
        const err = new Error(`worker ${index} exited (code ${code})`);
        for (const w of slot.waiting.values()) w.reject(err);
        slot.waiting.clear();
        if (!started) reject(err);
        else this.lost(slot, `exited with code ${code}`, err);
      });
    });
  }

  private lost(slot: Slot, how: string, err: Error): void {
    if (this.closing) return;
    this.closing = true;
    this.opts.log.error({ worker: slot.index, err: err.message }, `worker thread ${slot.index} ${how}: its conversations are gone; exiting so that the service manager starts a clean process`);
    this.opts.onLost(err);
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'log':
        this.logFor(m.bindings)[m.level](m.fields, m.msg);
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
        this.opts.lockout().failure(m.account, m.nas);
        return;
      case 'lockout-success':
        this.opts.lockout().success(m.account);
        return;
      default: {
        if (!('id' in m)) return;
        const waiter = slot.waiting.get(m.id);
        slot.waiting.delete(m.id);
        waiter?.resolve(m);
      }
    }
  }

  /** The child logger of a worker's bindings (a handful: worker index and module), made once. */
  private logFor(bindings: Record<string, unknown>): Log {
    const key = JSON.stringify(bindings);
    let log = this.childLogs.get(key);
    if (!log) {
      log = this.opts.log.child(bindings);
      if (this.childLogs.size < 256) this.childLogs.set(key, log);
    }
    return log;
  }

  private request(slot: Slot, bytes: Uint8Array, client: { name: string; address: string }): Promise<FromWorker> {
    const id = this.nextId++;
    // A buffer of its own, handed over: the datagram's may be larger than its packet.
    const own = new Uint8Array(bytes);
    return new Promise<FromWorker>((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject });
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
    if (slot.exited) return gone(new Error(`worker ${slot.index} has exited`));
    try {
      slot.worker.postMessage({ t: 'requests', batch } satisfies ToWorker, transfer);
    } catch (err) {
      gone(err as Error);
    }
  }

  private ask(slot: Slot, message: (id: number) => ToWorker): Promise<FromWorker> {
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
