/**
 * EAP-NOOB (RFC 9140) against Gangway: the Completion Exchange of new devices, and the Reconnect
 * Exchange (KeyingMode 2: fresh X25519) of registered ones.
 *
 * A registration is Initial Exchange, then the OOB step (the device's QR code delivered with
 * `deliverOobFromUrl` against the server's database, which is what `gangway noob-oob` does), then
 * Completion. For `noob-completion` everything up to the OOB step is staged before the server's CPU
 * is read, so only the Completion Exchanges are measured. For `noob-reconnect` one device per
 * in-flight slot is registered first; each slot then reconnects only its own device: Reconnects of
 * one PeerId serialize on that device's stored state, so sharing devices between slots would
 * measure lock waiting instead of the server.
 */
import { systemRandom } from '../noob/crypto/random.js';
import { deliverOobFromUrl } from '../noob/oob.js';
import { resolvePeerConfig, type ResolvedNoobPeerConfig } from '../peer/noob/config.js';
import { peerOobToShow } from '../peer/noob/oob.js';
import { RadiusEapTransport } from '../peer/noob/radius-transport.js';
import { runNoobPeer, type EapTransport, type EapTransportReply } from '../peer/noob/runner.js';
import { MemoryPeerStateStore } from '../peer/noob/state.js';
import type { RadiusClient } from '../radius/client.js';
import { openSqlite, type SqliteDatabase } from '../store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../store/sqlite/noob-peers.js';
import { silentLog, type Log } from '../util/log.js';
import type { AuthOutcome } from './load.js';
import { FRAMED_MTU, METHOD_SERVERS, loadClient, stationId, type BenchMethod, type MethodContext, type MethodDriver } from './method.js';
import type { ServerTarget } from './target.js';

/** Counts the RADIUS round trips of a conversation (the NOOB runner does not report them). */
class CountingTransport implements EapTransport {
  rounds = 0;
  constructor(private readonly inner: EapTransport) {}
  sendEap(eap: Uint8Array): Promise<EapTransportReply> {
    this.rounds++;
    return this.inner.sendEap(eap);
  }
}

interface Device {
  store: MemoryPeerStateStore;
  /** Its own PeerInfo; a changed one would be resent in every Reconnect. */
  config: ResolvedNoobPeerConfig;
}

interface NoobSession {
  client: RadiusClient;
  target: ServerTarget;
  db: SqliteDatabase;
  peers: SqliteNoobPeerStore;
  log: Log;
  serial: number;
}

function openSession(ctx: MethodContext): NoobSession {
  if (ctx.database === undefined) throw new Error('EAP-NOOB needs the server\'s database (Gangway started by the bench)');
  const db = openSqlite(ctx.database);
  return { client: loadClient(ctx.target, ctx.roundTrips), target: ctx.target, db, peers: new SqliteNoobPeerStore(db), log: silentLog(), serial: 0 };
}

async function closeSession(s: NoobSession): Promise<void> {
  s.db.close();
  await s.client.close();
}

function transport(s: NoobSession, worker: number): CountingTransport {
  return new CountingTransport(new RadiusEapTransport({ client: s.client, secret: s.target.secret, callingStationId: stationId(worker), framedMtu: FRAMED_MTU }));
}

/** Initial Exchange and the OOB step: the device waits for its Completion Exchange. */
async function startRegistration(s: NoobSession, slot: number): Promise<Device> {
  const n = s.serial++;
  const config = resolvePeerConfig({ peerInfo: { PeerName: `bench device ${n}`, Manufacturer: 'Gangway bench', SerialNumber: `B-${n}` } });
  const store = new MemoryPeerStateStore();
  const initial = await runNoobPeer({ transport: transport(s, slot), store, config, log: s.log });
  if (initial.state.state !== 1) throw new Error(`EAP-NOOB setup: device ${n} did not start registration (${initial.reason ?? initial.exchange ?? 'no exchange'})`);
  const shown = peerOobToShow(await store.load(), { config, now: new Date(), random: systemRandom });
  if (!shown) throw new Error(`EAP-NOOB setup: device ${n} has no OOB message to show`);
  await store.save(shown.state);
  const delivered = await deliverOobFromUrl(s.peers, shown.text);
  if (!delivered.ok) throw new Error(`EAP-NOOB setup: OOB delivery for device ${n} refused: ${delivered.detail}`);
  return { store, config };
}

async function complete(s: NoobSession, device: Device, worker: number): Promise<AuthOutcome> {
  const t = transport(s, worker);
  const o = await runNoobPeer({ transport: t, store: device.store, config: device.config, log: s.log });
  const ok = o.result === 'success' && o.exchange === 'completion' && o.state.state === 4 && o.mppe === 'match';
  return ok ? { ok, rounds: t.rounds } : { ok, rounds: t.rounds, reason: `${o.exchange ?? 'no exchange'}: ${o.reason ?? (o.serverError !== undefined ? `server error ${o.serverError}` : `MS-MPPE ${o.mppe ?? 'absent'}`)}` };
}

export const noobCompletion: BenchMethod = {
  name: 'noob-completion',
  title: 'EAP-NOOB Completion Exchange of new devices (OOB step done beforehand)',
  reference: 'x25519',
  servers: METHOD_SERVERS['noob-completion'],
  async prepare(ctx): Promise<MethodDriver> {
    const s = openSession(ctx);
    const waiting: Device[] = [];
    return {
      async stage(n) {
        // Registrations in parallel (as many as conversations in flight), before the CPU is read.
        let left = n;
        const slot = async (w: number): Promise<void> => {
          while (left > 0) {
            left--;
            waiting.push(await startRegistration(s, w));
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency, n)) }, (_, w) => slot(w)));
      },
      async run(_index, worker) {
        const device = waiting.shift();
        if (!device) return { ok: false, rounds: 0, reason: 'no staged registration left' };
        return complete(s, device, worker);
      },
      close: () => closeSession(s),
    };
  },
};

export const noobReconnect: BenchMethod = {
  name: 'noob-reconnect',
  title: 'EAP-NOOB Reconnect (KeyingMode 2, X25519) of registered devices',
  reference: 'x25519',
  servers: METHOD_SERVERS['noob-reconnect'],
  async prepare(ctx): Promise<MethodDriver> {
    const s = openSession(ctx);
    const devices: Device[] = [];
    try {
      for (let w = 0; w < ctx.concurrency; w++) {
        const device = await startRegistration(s, w);
        const done = await complete(s, device, w);
        if (!done.ok) throw new Error(`EAP-NOOB setup: device ${w} did not complete registration (${done.reason ?? ''})`);
        devices.push(device);
      }
    } catch (err) {
      await closeSession(s);
      throw err;
    }
    return {
      async run(_index, worker) {
        const device = devices[worker % devices.length]!;
        const t = transport(s, worker);
        const o = await runNoobPeer({ transport: t, store: device.store, config: device.config, log: s.log });
        const ok = o.result === 'success' && o.exchange === 'reconnect' && o.mppe === 'match';
        return ok ? { ok, rounds: t.rounds } : { ok, rounds: t.rounds, reason: `${o.exchange ?? 'no exchange'}: ${o.reason ?? (o.serverError !== undefined ? `server error ${o.serverError}` : `MS-MPPE ${o.mppe ?? 'absent'}`)}` };
      },
      close: () => closeSession(s),
    };
  },
};
