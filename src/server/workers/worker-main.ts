/**
 * A worker thread's entry: the EAP side of Gangway (stores, methods, EapAuthenticator, authorizer)
 * for the conversations whose State it leads. Requests come from the primary as the datagram's
 * bytes; the AccessReply goes back as data, and the primary encodes, caches and sends it.
 * The password lockout is the primary's: checks are asked, failures and successes told.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../../config/config-error.js';
import type { GangwayConfig } from '../../config/config.js';
import { EapAuthenticator } from '../../eap-methods/authenticator.js';
import type { LockoutGate, LockoutVerdict } from '../../eap-methods/password-lockout.js';
import type { MethodRegistry } from '../../eap-methods/registry.js';
import type { MethodSelector } from '../../eap-methods/method-selection.js';
import { decodeOwnedPacket } from '../../radius/packet.js';
import type { AccessReply } from '../../radius/access-reply.js';
import { openStores } from '../../store/open-stores.js';
import type { Stores } from '../../store/stores.js';
import type { Log } from '../../util/log.js';
import { SheddingMonitor, type SheddingReason } from '../../util/shedding.js';
import { buildAuthorizer } from '../authorization-setup.js';
import type { Authorizer } from '../authorizer.js';
import { buildMethods, eapLimitsOf, type TlsMaterial } from '../eap-build.js';
import { GangwayMetrics } from '../metrics.js';
import { handleAccessRequest } from '../radius-eap-bridge.js';
import { WORKER_LOG_RANK, type FromWorker, type ToWorker, type WorkerError, type WorkerInit, type WorkerLogLevel, type WorkerMaterial, type WorkerReply } from './protocol.js';
import { parsePemCertificates } from '../../pki/pem-certificates.js';

function post(port: MessagePort, message: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

/**
 * The reply with each octet string in a buffer of its own, handed over rather than copied: a view
 * into a pooled or larger buffer would otherwise be cloned whole.
 */
function detached(reply: AccessReply | null): { reply: AccessReply | null; transfer: ArrayBuffer[] } {
  if (reply === null) return { reply, transfer: [] };
  const transfer: ArrayBuffer[] = [];
  const own = (v: Uint8Array): Uint8Array => {
    const copy = new Uint8Array(v);
    transfer.push(copy.buffer);
    return copy;
  };
  return {
    reply: {
      code: reply.code,
      ...(reply.eapMessage ? { eapMessage: own(reply.eapMessage) } : {}),
      ...(reply.state ? { state: own(reply.state) } : {}),
      ...(reply.mppe ? { mppe: { recv: own(reply.mppe.recv), send: own(reply.mppe.send) } } : {}),
      ...(reply.attributes ? { attributes: reply.attributes.map((a) => ({ type: a.type, value: own(a.value) })) } : {}),
      ...(reply.deviceId !== undefined ? { deviceId: reply.deviceId } : {}),
    },
    transfer,
  };
}

/** Log lines go to the primary's log, with this worker's bindings. */
function forwardingLog(port: MessagePort, lowest: WorkerLogLevel, bindings: Record<string, unknown>): Log {
  const send = (level: 'debug' | 'info' | 'warn' | 'error') => (fields: object, msg?: string): void => {
    if (WORKER_LOG_RANK[level] < WORKER_LOG_RANK[lowest]) return;
    const message: FromWorker = { t: 'log', level, bindings, fields, ...(msg !== undefined ? { msg } : {}) };
    try {
      port.postMessage(message);
    } catch {
      // A field that cannot be cloned (a function, a socket): the line goes as JSON text can say it.
      port.postMessage({ ...message, fields: JSON.parse(JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as object });
    }
  };
  return { debug: send('debug'), info: send('info'), warn: send('warn'), error: send('error'), child: (b) => forwardingLog(port, lowest, { ...bindings, ...b }) };
}

function errorOf(err: unknown): WorkerError {
  if (err instanceof ConfigError) return { key: err.key, why: err.why };
  return { why: err instanceof Error ? err.message : String(err) };
}

function materialOf(m: WorkerMaterial): TlsMaterial {
  const ca = m.ca.map((c) => Buffer.from(c));
  return { cert: Buffer.from(m.cert), key: Buffer.from(m.key), ca, trusted: parsePemCertificates(ca) as X509Certificate[] };
}

/** The primary's lockout, asked over the port; told failures and successes arrive before the reply that follows them. */
class RemoteLockout implements LockoutGate {
  private nextId = 1;
  private readonly waiting = new Map<number, (v: LockoutVerdict) => void>();

  constructor(private readonly port: MessagePort) {}

  check(account: string, nas: string): Promise<LockoutVerdict> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      post(this.port, { t: 'lockout-check', id, account, nas });
    });
  }

  failure(account: string, nas: string, attempt: number): void {
    post(this.port, { t: 'lockout-failure', account, nas, attempt });
  }

  success(account: string, attempt: number): void {
    post(this.port, { t: 'lockout-success', account, attempt });
  }

  abandon(account: string, attempt: number): void {
    post(this.port, { t: 'lockout-abandon', account, attempt });
  }

  answered(id: number, verdict: LockoutVerdict): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(verdict);
  }
}

/** Replies of one event-loop turn, sent as one message when the turn ends. */
class ReplyOutbox {
  private batch: WorkerReply[] = [];
  private transfer: ArrayBuffer[] = [];

  constructor(private readonly port: MessagePort) {}

  send(reply: WorkerReply, transfer: ArrayBuffer[]): void {
    if (this.batch.length === 0) setImmediate(() => this.flush());
    this.batch.push(reply);
    this.transfer.push(...transfer);
  }

  private flush(): void {
    const batch = this.batch;
    const transfer = this.transfer;
    this.batch = [];
    this.transfer = [];
    post(this.port, { t: 'replies', batch }, transfer);
  }
}

/** Notes what the session table sheds, to be handed to the primary's monitor with the reply. */
class ForwardedShedding extends SheddingMonitor {
  pending: SheddingReason[] = [];

  override note(reason: SheddingReason): void {
    super.note(reason);
    if (this.pending.length < 64) this.pending.push(reason);
  }

  drain(): SheddingReason[] | undefined {
    if (this.pending.length === 0) return undefined;
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

interface Build {
  registry: MethodRegistry;
  selector: MethodSelector;
  authorizer: Authorizer;
  engine: 'openssl' | 'node';
}

async function main(port: MessagePort, init: WorkerInit): Promise<void> {
  const log = forwardingLog(port, init.logLevel, { worker: init.index });
  let stores: Stores;
  try {
    stores = await openStores(init.config.store, log);
  } catch (err) {
    post(port, { t: 'start-failed', error: errorOf(err) });
    return;
  }
  const metrics = new GangwayMetrics();
  const wrap = metrics.wrapStore;
  const noobStore = wrap('noob-peers', stores.noobPeers);
  const lockout = new RemoteLockout(port);
  const build = async (config: GangwayConfig, material: WorkerMaterial): Promise<Build> => {
    const built = await buildMethods(config, materialOf(material), material.crl.map((c) => Buffer.from(c)), stores, noobStore, undefined, metrics, () => lockout, log);
    const authorizer = buildAuthorizer(config.authorization, stores, { methods: built.registry.names(), manufacturers: [] }, log, wrap);
    return { registry: built.registry, selector: built.selector, authorizer, engine: built.engine };
  };
  let current: Build;
  try {
    current = await build(init.config, init.material);
  } catch (err) {
    await stores.close().catch(() => undefined);
    post(port, { t: 'start-failed', error: errorOf(err) });
    return;
  }
  const shedding = new ForwardedShedding();
  const eap = new EapAuthenticator(current.registry, current.selector, eapLimitsOf(init.config, { index: init.index, count: init.count }), log.child({ module: 'eap' }), Date.now, shedding, metrics.eap);
  const accessLog = log.child({ module: 'access' });
  let pending: { id: number; build: Build } | undefined;
  const outbox = new ReplyOutbox(port);

  const onRequest = async (id: number, bytes: Uint8Array, client: { name: string; address: string }): Promise<void> => {
    try {
      // The pool handed this buffer over (transferred): no one else holds it, so no copy.
      const packet = decodeOwnedPacket(bytes);
      const authorizer = current.authorizer;
      const { reply, transfer } = detached(await handleAccessRequest(eap, packet, client, (grant) => authorizer.authorize(grant), accessLog));
      const shed = shedding.drain();
      outbox.send({ t: 'reply', id, reply, admission: eap.admission, ...(shed ? { shed } : {}) }, transfer);
    } catch (err) {
      outbox.send({ t: 'reply-failed', id, error: err instanceof Error ? (err.stack ?? err.message) : String(err), admission: eap.admission }, []);
    }
  };

  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'requests':
        for (const r of m.batch) void onRequest(r.id, r.bytes, r.client);
        return;
      case 'lockout':
        lockout.answered(m.id, m.verdict);
        return;
      case 'prepare':
        // Built beside the one in force; switched to only when every worker has built (commit).
        build(m.config, m.material).then(
          (b) => {
            pending = { id: m.id, build: b };
            post(port, { t: 'prepared', id: m.id });
          },
          (err: unknown) => post(port, { t: 'prepared', id: m.id, error: errorOf(err) }),
        );
        return;
      case 'commit':
        if (pending) {
          current.registry.replaceWith(pending.build.registry);
          current.selector.replaceWith(pending.build.selector);
          current = { ...current, authorizer: pending.build.authorizer, engine: pending.build.engine };
          pending = undefined;
        }
        post(port, { t: 'committed', id: m.id, engine: current.engine, methods: current.registry.names() });
        return;
      case 'discard':
        pending = undefined;
        post(port, { t: 'discarded', id: m.id });
        return;
      case 'scrape':
        post(port, { t: 'scraped', id: m.id, families: metrics.snapshot(), admission: eap.admission });
        return;
      case 'ping':
        post(port, { t: 'pong', admission: eap.admission });
        return;
      case 'close':
        eap.close();
        stores.close().then(
          () => post(port, { t: 'closed', id: m.id }),
          () => post(port, { t: 'closed', id: m.id }),
        );
        return;
    }
  });
  post(port, { t: 'ready', engine: current.engine, methods: current.registry.names() });
}

if (parentPort) void main(parentPort, workerData as WorkerInit);
