/**
 * EAP-NOOB Reconnect Exchange (RFC 9140 §3.4, KeyingMode 2: fresh X25519) of registered devices.
 *
 * Setup, not measured: one device per in-flight slot goes through Initial Exchange, the OOB step
 * (its QR code delivered with `deliverOobFromUrl`, exactly what `gangway noob-oob` does, against
 * the server's database) and Completion Exchange. Each slot then reconnects only its own device:
 * Reconnects of one PeerId serialize on that device's stored state, so sharing devices between
 * slots would measure lock waiting instead of the server.
 */
import { systemRandom } from '../noob/crypto/random.js';
import { deliverOobFromUrl } from '../noob/oob.js';
import { resolvePeerConfig, type ResolvedNoobPeerConfig } from '../peer/noob/config.js';
import { peerOobToShow } from '../peer/noob/oob.js';
import { RadiusEapTransport } from '../peer/noob/radius-transport.js';
import { runNoobPeer, type EapTransport, type EapTransportReply } from '../peer/noob/runner.js';
import { MemoryPeerStateStore } from '../peer/noob/state.js';
import { openSqlite } from '../store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../store/sqlite/noob-peers.js';
import { silentLog } from '../util/log.js';
import { FRAMED_MTU, loadClient, stationId, type BenchMethod, type MethodDriver } from './method.js';

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
  transport: CountingTransport;
  /** Its own PeerInfo; a changed one would be resent in every Reconnect. */
  config: ResolvedNoobPeerConfig;
}

export const noobReconnect: BenchMethod = {
  name: 'noob-reconnect',
  title: 'EAP-NOOB Reconnect (KeyingMode 2, X25519) of registered devices',
  reference: 'x25519',
  onHostapd: false,
  async prepare({ fixture, target, concurrency }): Promise<MethodDriver> {
    const client = loadClient(target);
    const log = silentLog();
    const devices: Device[] = [];
    try {
      for (let w = 0; w < concurrency; w++) {
        const config = resolvePeerConfig({ peerInfo: { PeerName: `bench device ${w}`, Manufacturer: 'Gangway bench', SerialNumber: `B-${w}` } });
        const store = new MemoryPeerStateStore();
        const transport = new CountingTransport(new RadiusEapTransport({ client, secret: target.secret, callingStationId: stationId(w), framedMtu: FRAMED_MTU }));
        const initial = await runNoobPeer({ transport, store, config, log });
        if (initial.state.state !== 1) throw new Error(`EAP-NOOB setup: device ${w} did not start registration (${initial.reason ?? initial.exchange ?? 'no exchange'})`);
        const shown = peerOobToShow(await store.load(), { config, now: new Date(), random: systemRandom });
        if (!shown) throw new Error(`EAP-NOOB setup: device ${w} has no OOB message to show`);
        await store.save(shown.state);
        const db = openSqlite(fixture.init.files.database);
        try {
          const delivered = await deliverOobFromUrl(new SqliteNoobPeerStore(db), shown.text);
          if (!delivered.ok) throw new Error(`EAP-NOOB setup: OOB delivery for device ${w} refused: ${delivered.detail}`);
        } finally {
          db.close();
        }
        const completion = await runNoobPeer({ transport, store, config, log });
        if (completion.result !== 'success' || completion.state.state !== 4) {
          throw new Error(`EAP-NOOB setup: device ${w} did not complete registration (${completion.reason ?? completion.exchange ?? 'no exchange'})`);
        }
        devices.push({ store, transport, config });
      }
    } catch (err) {
      await client.close();
      throw err;
    }
    return {
      async run(_index, worker) {
        const device = devices[worker % devices.length]!;
        device.transport.rounds = 0;
        const o = await runNoobPeer({ transport: device.transport, store: device.store, config: device.config, log });
        const ok = o.result === 'success' && o.exchange === 'reconnect' && o.mppe === 'match';
        const rounds = device.transport.rounds;
        return ok ? { ok, rounds } : { ok, rounds, reason: `${o.exchange ?? 'no exchange'}: ${o.reason ?? (o.serverError !== undefined ? `server error ${o.serverError}` : `MS-MPPE ${o.mppe ?? 'absent'}`)}` };
      },
      close: () => client.close(),
    };
  },
};
