/**
 * Issue 8: unauthenticated EAP-NOOB Initial Exchanges must not fill the ephemeral table for a day.
 * Unbound registrations are capped per NAS and live `unboundLifetime`; a refusal is audited.
 */
import type { NasFacts } from '../../src/eap-methods/method.js';
import { resolveNoobConfig, type NoobConfig } from '../../src/noob/config.js';
import { createNoobMethod, type NoobMethod } from '../../src/noob/method.js';
import { deliverOob, issueServerToPeerOob, purgeExpiredRegistrations } from '../../src/noob/oob.js';
import { COUNT_TTL_MS, RegistrationQuota, registrationOrigin } from '../../src/noob/registration-quota.js';
import { resolvePeerConfig } from '../../src/peer/noob/config.js';
import { peerOobToShow } from '../../src/peer/noob/oob.js';
import { runNoobPeer } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../src/peer/noob/state.js';
import type { AuditEntry, AuditStore } from '../../src/store/audit.js';
import { MemoryNoobPeerStore, type NoobPeerStore, type NoobPeerWrite, type NoobRegistrationLimits, type NoobRegistrationOutcome } from '../../src/store/noob-peers.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { ephemeralRegistration } from '../helpers/noob-records.js';
import { loopback, PEER_INFO, TestClock } from './helpers.js';
import { startTestGangway } from '../helpers/gangway.js';
import { RadiusClient } from '../../src/radius/client.js';
import { RadiusEapTransport } from '../../src/peer/noob/radius-transport.js';

const BASE: NoobConfig = { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org' };
const NAS_A: NasFacts = { clientName: 'ap-a', clientAddress: '192.0.2.1' };
const NAS_B: NasFacts = { clientName: 'ap-b', clientAddress: '192.0.2.2' };

class MemoryAudit implements AuditStore {
  readonly entries: AuditEntry[] = [];
  append(entry: AuditEntry): void {
    this.entries.push(entry);
  }
  async recent(limit: number): Promise<AuditEntry[]> {
    return this.entries.slice(-limit).reverse();
  }
}

function harness(config: Partial<NoobConfig>) {
  const store = new MemoryNoobPeerStore();
  const clock = new TestClock();
  const audit = new MemoryAudit();
  const log = new MemoryLog();
  const method: NoobMethod = createNoobMethod({ store, config: { ...BASE, ...config }, clock: clock.now, log, audit });
  const peerConfig = resolvePeerConfig({ peerInfo: PEER_INFO });
  /**
   * One device's Initial Exchange through `nas` (it ends in EAP-Failure either way, RFC 9140 §3.2.1);
   * `stored` says whether the server kept the registration.
   */
  const register = async (nas: NasFacts, preferredDirection: 1 | 2 = 1) => {
    const peerStore = new MemoryPeerStateStore();
    const config = { ...peerConfig, preferredDirection };
    await runNoobPeer({ transport: loopback(() => method, log, nas), store: peerStore, config, log: new MemoryLog(), clock: clock.now });
    const peerId = (await peerStore.load()).ephemeral?.peerId;
    return { stored: peerId !== undefined && (await store.get(peerId)) !== undefined, peerStore };
  };
  return { store, clock, audit, log, method, register, peerConfig };
}

describe('EAP-NOOB registration quotas', () => {
  test('a NAS past its share of unbound registrations is refused, audited once a minute; other NAS are not', async () => {
    const h = harness({ maxEphemeralPeers: 10, maxUnboundPerNas: 2 });
    for (let i = 0; i < 2; i++) expect((await h.register(NAS_A)).stored).toBe(true);
    expect(await h.store.countUnbound(registrationOrigin(NAS_A))).toBe(2);
    expect((await h.register(NAS_A)).stored).toBe(false);
    expect(await h.store.countUnbound(registrationOrigin(NAS_A))).toBe(2);
    expect(h.audit.entries).toEqual([
      { at: h.clock.now(), event: 'noob.registration.refused', subject: 'ap-a', detail: { quota: 'nas', client: 'ap-a', address: '192.0.2.1', count: 2, limit: 2 } },
    ]);
    expect(h.log.lines.some((l) => l.msg === 'eap-noob: this NAS holds its share of unbound registrations; Initial Exchange not stored')).toBe(true);
    // Refused again within the minute: no second entry; after it, one that counts what it held back.
    expect((await h.register(NAS_A)).stored).toBe(false);
    expect(h.audit.entries).toHaveLength(1);
    h.clock.advance(61);
    expect((await h.register(NAS_A)).stored).toBe(false);
    expect(h.audit.entries).toHaveLength(2);
    expect(h.audit.entries[1]!.detail).toMatchObject({ quota: 'nas', suppressed: 1 });
    // Another NAS still onboards.
    expect((await h.register(NAS_B)).stored).toBe(true);
    expect(await h.store.countUnbound(registrationOrigin(NAS_B))).toBe(1);
  });

  test('a registration a person has acted on no longer counts against its NAS', async () => {
    const h = harness({ maxEphemeralPeers: 10, maxUnboundPerNas: 1 });
    const first = await h.register(NAS_A);
    expect((await h.register(NAS_A)).stored).toBe(false);
    const state = await first.peerStore.load();
    const shown = peerOobToShow(state, { config: h.peerConfig, now: h.clock.now(), random: systemRandom })!;
    expect((await deliverOob({ store: h.store, clock: h.clock.now }, shown.message, { account: 'alice' })).ok).toBe(true);
    expect(await h.store.countUnbound(registrationOrigin(NAS_A))).toBe(0);
    // The quota counts again at most a second after its last count: until then the NAS is still full.
    expect((await h.register(NAS_A)).stored).toBe(false);
    h.clock.advance(COUNT_TTL_MS / 1000);
    expect((await h.register(NAS_A)).stored).toBe(true);
  });

  test('the whole table is still bounded, and says so', async () => {
    const h = harness({ maxEphemeralPeers: 2, maxUnboundPerNas: 2 });
    await h.register(NAS_A);
    await h.register(NAS_B);
    expect((await h.register({ clientName: 'ap-c', clientAddress: '192.0.2.3' })).stored).toBe(false);
    expect(h.audit.entries.map((e) => e.detail)).toEqual([{ quota: 'table', client: 'ap-c', address: '192.0.2.3', count: 2, limit: 2 }]);
  });

  test('unbound registrations go after unboundLifetime; bound, issued-to and delivered ones keep the full lifetime', async () => {
    const h = harness({ maxEphemeralPeers: 10, maxUnboundPerNas: 10, unboundLifetime: 600 });
    await h.register(NAS_A);
    const delivered = await h.register(NAS_A);
    const issuedTo = await h.register(NAS_B, 2);
    const shown = peerOobToShow(await delivered.peerStore.load(), { config: h.peerConfig, now: h.clock.now(), random: systemRandom })!;
    expect((await deliverOob({ store: h.store, clock: h.clock.now }, shown.message, {})).ok).toBe(true);
    const issuedPeer = (await issuedTo.peerStore.load()).ephemeral!.peerId;
    expect((await issueServerToPeerOob({ store: h.store, config: h.method.config, clock: h.clock.now }, issuedPeer, {})).ok).toBe(true);
    expect(await h.store.countEphemeral()).toBe(3);
    h.clock.advance(599);
    expect(await purgeExpiredRegistrations(h.store, h.method.config, h.clock.now())).toBe(0);
    h.clock.advance(2);
    expect(await purgeExpiredRegistrations(h.store, h.method.config, h.clock.now())).toBe(1);
    expect(await h.store.countEphemeral()).toBe(2);
    expect(await h.store.countUnbound()).toBe(0);
  });

  test('a full NAS share is freed by purging expired unbound registrations before refusing', async () => {
    const h = harness({ maxEphemeralPeers: 10, maxUnboundPerNas: 1, unboundLifetime: 600 });
    await h.register(NAS_A);
    h.clock.advance(601);
    expect((await h.register(NAS_A)).stored).toBe(true);
    expect(h.audit.entries).toEqual([]);
    expect(await h.store.countUnbound(registrationOrigin(NAS_A))).toBe(1);
  });

  test('a flood of Initial Exchanges at a full quota is refused without counting each time; admissions stay exact', async () => {
    const h = harness({ maxEphemeralPeers: 100, maxUnboundPerNas: 40 });
    const NAS_C: NasFacts = { clientName: 'ap-c', clientAddress: '192.0.2.3' };
    // Every count is read inside a creation.
    let counted = 0;
    const createRegistration = h.store.createRegistration.bind(h.store);
    h.store.createRegistration = async (next, limits) => (counted++, createRegistration(next, limits));
    const stored = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 60; i++) {
      if ((await h.register(NAS_A)).stored) stored.a++;
      if ((await h.register(NAS_B)).stored) stored.b++;
    }
    for (let i = 0; i < 60; i++) if ((await h.register(NAS_C)).stored) stored.c++;
    // A and B filled their shares exactly; C got what the table had left, exactly.
    expect(stored).toEqual({ a: 40, b: 40, c: 20 });
    expect(await h.store.countEphemeral()).toBe(100);
    // Each admission counted for itself (100); of the 80 refusals only the first per quota counted
    // (3), and once more after the purge, which runs at most once a second.
    expect(counted).toBeLessThanOrEqual(100 + 6);
    expect(h.audit.entries.map((e) => `${e.subject} ${(e.detail as { quota: string }).quota}`).sort()).toEqual(['ap-a nas', 'ap-b nas', 'ap-c table']);
    const before = counted;
    for (let i = 0; i < 50; i++) expect((await h.register(NAS_B)).stored).toBe(false);
    expect(counted).toBe(before);
    // A second later the table is counted again (and once more after the purge), still full.
    h.clock.advance(COUNT_TTL_MS / 1000);
    for (let i = 0; i < 50; i++) expect((await h.register(NAS_B)).stored).toBe(false);
    expect(counted - before).toBe(2);
  });

  /**
   * The store as the quota sees it when several servers share it: `stored` is the table, and
   * `delay` makes each creation take a round trip. It counts and creates at once, as the real
   * stores do in one transaction.
   */
  function sharedTable(delay = false) {
    const t = {
      stored: 0,
      counts: 0,
      store: {
        createRegistration: async (_next: NoobPeerWrite, limits: NoobRegistrationLimits): Promise<NoobRegistrationOutcome> => {
          t.counts++;
          if (delay) await new Promise((r) => setImmediate(r));
          if (t.stored >= limits.maxEphemeral) return { created: false, refusal: { quota: 'table', count: t.stored, limit: limits.maxEphemeral } };
          t.stored++;
          return { created: true };
        },
        deleteExpiredEphemeral: async () => 0,
        deleteUnboundBefore: async () => 0,
      } as unknown as NoobPeerStore,
    };
    return t;
  }
  const quotaConfig = resolveNoobConfig({ ...BASE, maxEphemeralPeers: 100, maxUnboundPerNas: 100 });
  let serial = 0;
  const registration = (): NoobPeerWrite => ({ ...ephemeralRegistration(`quota-${serial++}`, new Date('2026-01-01T00:00:00Z')) });

  /** A quota that has just counted a full table and refused. */
  async function refusedAtFull() {
    const t = sharedTable();
    t.stored = 100;
    const clock = new TestClock();
    const quota = new RegistrationQuota(t.store, quotaConfig, clock.now);
    const log = new MemoryLog();
    expect(await quota.register(NAS_A, registration(), log)).toBe(false);
    return { t, clock, quota, log };
  }

  test('room freed while a refusal is remembered goes to the first Initial Exchange a second later; until then the store is not asked', async () => {
    const { t, clock, quota, log } = await refusedAtFull();
    const asked = t.counts;
    t.stored = 98;
    expect(await quota.register(NAS_A, registration(), log)).toBe(false);
    expect(t.counts).toBe(asked);
    clock.advance(COUNT_TTL_MS / 1000);
    expect(await quota.register(NAS_A, registration(), log)).toBe(true);
    expect(t.counts).toBe(asked + 1);
  });

  test('a creation that waited its turn for longer than a second still refuses the next ones without asking the store', async () => {
    const clock = new TestClock();
    let asked = 0;
    const slow = {
      createRegistration: async (): Promise<NoobRegistrationOutcome> => {
        asked++;
        clock.advance(1.5);
        return { created: false, refusal: { quota: 'nas', count: 100, limit: 100 } };
      },
      deleteExpiredEphemeral: async () => 0,
      deleteUnboundBefore: async () => 0,
    } as unknown as NoobPeerStore;
    const quota = new RegistrationQuota(slow, quotaConfig, clock.now);
    for (let i = 0; i < 5; i++) expect(await quota.register(NAS_A, registration(), new MemoryLog())).toBe(false);
    // The first, and once more after the purge; the other four were refused from memory.
    expect(asked).toBe(2);
  });

  test('a clock set back does not stretch a remembered refusal', async () => {
    const { t, clock, quota, log } = await refusedAtFull();
    clock.advance(-3600);
    t.stored = 99;
    expect(await quota.register(NAS_A, registration(), log)).toBe(true);
  });

  test('Initial Exchanges arriving while a count runs wait for it: one that finds the table full refuses them all', async () => {
    const t = sharedTable(true);
    t.stored = 100;
    const quota = new RegistrationQuota(t.store, quotaConfig, new TestClock().now);
    const log = new MemoryLog();
    const answers = await Promise.all(Array.from({ length: 50 }, () => quota.register(NAS_A, registration(), log)));
    expect(answers.every((a) => a === false)).toBe(true);
    // The first count, and one more after the purge.
    expect(t.counts).toBe(2);
  });

  test('a store failing while others wait: each caller gets the error, nothing is left unhandled', async () => {
    const failing = {
      createRegistration: async () => {
        await new Promise((r) => setImmediate(r));
        throw new Error('disk full');
      },
    } as unknown as NoobPeerStore;
    const quota = new RegistrationQuota(failing, quotaConfig, new TestClock().now);
    await expect(quota.register(NAS_B, registration(), new MemoryLog())).rejects.toThrow('disk full');
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => quota.register(NAS_A, registration(), new MemoryLog())));
    expect(settled.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.status))).toEqual(Array(5).fill('disk full'));
    // A rejection nobody handled would surface here, on the next turns of the loop.
    await new Promise((r) => setTimeout(r, 20));
  });

  test('a registration another conversation created first is not stored again, and is no refusal', async () => {
    const h = harness({ maxEphemeralPeers: 10, maxUnboundPerNas: 10 });
    const quota = new RegistrationQuota(h.store, h.method.config, h.clock.now, h.audit);
    const rec = registration();
    expect(await quota.register(NAS_A, rec, h.log)).toBe(true);
    expect(await quota.register(NAS_A, { ...rec, peerInfo: '{"Make":"Other"}' }, h.log)).toBe(false);
    expect((await h.store.get(rec.peerId))?.peerInfo).toBe(rec.peerInfo);
    expect(await h.store.countEphemeral()).toBe(1);
    expect(h.audit.entries).toEqual([]);
  });

  test('settings: defaults, and bounds that name the key', () => {
    expect(resolveNoobConfig(BASE)).toMatchObject({ unboundLifetime: 3600, maxUnboundPerNas: 2500, ephemeralLifetime: 86400 });
    expect(resolveNoobConfig({ ...BASE, maxEphemeralPeers: 3 })).toMatchObject({ maxUnboundPerNas: 1 });
    expect(resolveNoobConfig({ ...BASE, ephemeralLifetime: 600 })).toMatchObject({ unboundLifetime: 600 });
    expect(() => resolveNoobConfig({ ...BASE, unboundLifetime: 90_000 })).toThrow('methods.eap-noob.unboundLifetime');
    expect(() => resolveNoobConfig({ ...BASE, unboundLifetime: 30 })).toThrow('methods.eap-noob.unboundLifetime');
    expect(() => resolveNoobConfig({ ...BASE, maxEphemeralPeers: 10, maxUnboundPerNas: 11 })).toThrow('methods.eap-noob.maxUnboundPerNas');
  });
});

describe('EAP-NOOB registration quota in the running server', () => {
  test('over RADIUS: the second unbound registration through one NAS is refused and lands in the audit table', async () => {
    const g = await startTestGangway({
      configure: (doc) => {
        const methods = doc.methods as Record<string, Record<string, unknown>>;
        methods['eap-noob'] = { ...methods['eap-noob'], maxUnboundPerNas: 1 };
      },
    });
    try {
      const stored: boolean[] = [];
      for (let i = 0; i < 2; i++) {
        const client = new RadiusClient({ host: '127.0.0.1', port: g.port, secret: g.secret, initialTimeoutMs: 1000, maxRetransmissions: 1 });
        const peerStore = new MemoryPeerStateStore();
        try {
          const transport = new RadiusEapTransport({ client, secret: g.secret, callingStationId: `02-00-00-00-77-0${i}` });
          await runNoobPeer({ transport, store: peerStore, config: resolvePeerConfig({ peerInfo: PEER_INFO }), log: new MemoryLog() });
        } finally {
          await client.close();
        }
        const peerId = (await peerStore.load()).ephemeral?.peerId;
        stored.push(peerId !== undefined && (await g.running.stores.noobPeers.get(peerId)) !== undefined);
      }
      expect(stored).toEqual([true, false]);
      const refused = (await g.running.stores.audit.recent(10)).filter((e) => e.event === 'noob.registration.refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ subject: 'localhost', detail: { quota: 'nas', client: 'localhost', address: '127.0.0.1', count: 1, limit: 1 } });
    } finally {
      await g.close();
    }
  });
});
