/**
 * Issue 7 point 4: a delivered OOB code must not be re-bindable to another account.
 *
 * The attack: the PeerId is printed in the device's QR code, so anyone can open an EAP
 * conversation claiming PeerState 1, receive the server's type-6 request and answer it with error
 * 2003. RFC 9140 §3.6.4 then sends the server back to state 1 (OOB Reject). Before the fix the
 * delivered code was forgotten with it, the same URL was accepted again for another user, and the
 * device completed under that user's account.
 */
import fc from 'fast-check';

import type { EapMethodSession, Step } from '../../src/eap-methods/method.js';
import { resolveNoobConfig } from '../../src/noob/config.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { createNoobMethod, type NoobMethod } from '../../src/noob/method.js';
import { deliverOob, deliverOobFromUrl, issueServerToPeerOob, resetNoobOwner } from '../../src/noob/oob.js';
import { resolvePeerConfig } from '../../src/peer/noob/config.js';
import { acceptServerOob, peerOobToShow } from '../../src/peer/noob/oob.js';
import { runNoobPeer } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../src/peer/noob/state.js';
import type { AuditEntry, AuditStore } from '../../src/store/audit.js';
import { MemoryNoobPeerStore } from '../../src/store/noob-peers.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { loopback, PEER_INFO, TestClock } from './helpers.js';
import { text, utf8 } from './vectors.js';

const CONFIG = resolveNoobConfig({ oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org' });

class MemoryAudit implements AuditStore {
  readonly entries: AuditEntry[] = [];
  append(e: AuditEntry): void {
    this.entries.push(e);
  }
  async recent(limit: number): Promise<AuditEntry[]> {
    return this.entries.slice(-limit).reverse();
  }
}

function world(directions: 1 | 2 | 3 = 1) {
  const store = new MemoryNoobPeerStore();
  const clock = new TestClock();
  const log = new MemoryLog();
  const audit = new MemoryAudit();
  const method: NoobMethod = createNoobMethod({ store, config: CONFIG, clock: clock.now, log });
  const peerStore = new MemoryPeerStateStore();
  const peerConfig = resolvePeerConfig({ peerInfo: PEER_INFO, directions, preferredDirection: directions === 2 ? 2 : 1 });
  const transport = loopback(() => method, log);
  const device = () => runNoobPeer({ transport, store: peerStore, config: peerConfig, log: new MemoryLog(), clock: clock.now });
  /** The device shows its current QR code (a new Noob after NoobInterval). */
  const show = async () => {
    const shown = peerOobToShow(await peerStore.load(), { config: peerConfig, now: clock.now(), random: systemRandom })!;
    await peerStore.save(shown.state);
    return shown.text;
  };
  const deliver = (url: string, user?: string) => deliverOobFromUrl(store, url, user, { clock: clock.now, log, audit });
  const open = (): EapMethodSession =>
    method.createSession({ identity: 'noob@devices.example.org', conversationId: 'attacker', maxEapPacket: 1400, nas: { clientName: 'nas' }, log });
  /**
   * Our peer picks a single direction (RFC 9140 §3.3.2 recommends it); a peer may choose both.
   * Dirp enters Hoob only as the transcript's text, so widening the stored choice on both sides
   * models such a peer without changing any code.
   */
  const bothDirections = async (peerId: string) => {
    const rec = (await store.get(peerId))!;
    await store.transition(peerId, rec.version, { ...rec, ephemeral: { ...rec.ephemeral!, dirp: 3 } });
    const ps = await peerStore.load();
    await peerStore.save({ ...ps, ephemeral: { ...ps.ephemeral!, dirp: 3 } });
  };
  return { store, clock, log, audit, method, peerStore, peerConfig, transport, device, show, deliver, open, bothDirections };
}

function json(s: Step): Record<string, unknown> {
  if (s.kind !== 'request') throw new Error(`expected a request, got ${s.kind}`);
  return JSON.parse(text(s.data)) as Record<string, unknown>;
}

/** Someone who knows only the PeerId: claims PeerState 1, answers the type-6 request with 2003. */
async function forceOobReject(open: () => EapMethodSession, peerId: string): Promise<void> {
  const s = open();
  expect(json(await s.start())).toEqual({ Type: 1 });
  expect(json(await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":1}`)))).toMatchObject({ Type: 6, PeerId: peerId });
  expect((await s.step(utf8(`{"Type":0,"PeerId":"${peerId}","ErrorCode":2003}`))).kind).toBe('failure');
}

describe('EAP-NOOB re-binding (issue 7.4)', () => {
  it('bound to alice → 2003 reset → the same URL for mallory is refused → the device ends bound to alice', async () => {
    const w = world();
    const initial = await w.device();
    const peerId = initial.state.ephemeral!.peerId;
    const url = await w.show();
    expect(await w.deliver(url, 'alice')).toMatchObject({ ok: true, account: 'alice' });

    await forceOobReject(w.open, peerId);
    // RFC 9140 §3.6.4 still holds: the server is back in state 1 ...
    const reset = (await w.store.get(peerId))!;
    expect(reset).toMatchObject({ state: 1, account: 'alice', accountBound: true });
    // ... the rollback is logged at warn level, naming the account that stays bound ...
    expect(w.log.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'eap-noob: peer rejected our NoobId (2003); registration back to state 1', obj: expect.objectContaining({ peerId, account: 'alice' }) }),
    );
    // ... but the delivered code stays consumed, for everyone.
    expect(await w.deliver(url, 'mallory')).toMatchObject({ ok: false, reason: 'consumed' });
    expect(await w.deliver(url, 'alice')).toMatchObject({ ok: false, reason: 'consumed' });
    expect(await w.deliver(url)).toMatchObject({ ok: false, reason: 'consumed' });

    // The device keeps waiting, shows a new code after NoobInterval; mallory cannot take it either.
    expect(await w.device()).toMatchObject({ result: 'failure', exchange: 'waiting' });
    w.clock.advance(w.peerConfig.noobInterval);
    const fresh = await w.show();
    expect(fresh).not.toBe(url);
    expect(await w.deliver(fresh, 'mallory')).toMatchObject({ ok: false, reason: 'account-bound' });
    expect(w.audit.entries).toContainEqual(
      expect.objectContaining({ event: 'noob.oob.refused', subject: peerId, detail: expect.objectContaining({ reason: 'account-bound', account: 'mallory', boundAccount: 'alice' }) }),
    );
    expect((await w.store.get(peerId))).toMatchObject({ state: 1, account: 'alice' });

    expect(await w.deliver(fresh, 'alice')).toMatchObject({ ok: true, account: 'alice' });
    expect(await w.device()).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    expect(w.transport.grants.at(-1)).toMatchObject({ identity: peerId, account: 'alice' });
    expect(await w.store.get(peerId)).toMatchObject({ state: 4, account: 'alice' });
  });

  it('a device whose Completion is done cannot be reset: 2002, and the URL stays refused', async () => {
    const w = world();
    const peerId = (await w.device()).state.ephemeral!.peerId;
    const url = await w.show();
    await w.deliver(url, 'alice');
    expect(await w.device()).toMatchObject({ result: 'success' });
    const before = await w.store.get(peerId);
    const s = w.open();
    await s.start();
    expect(json(await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":1}`)))).toMatchObject({ Type: 0, ErrorCode: 2002 });
    expect(await w.store.get(peerId)).toEqual(before);
    expect(await w.deliver(url, 'mallory')).toMatchObject({ ok: false, reason: 'registered' });
  });

  it('a Completion started before a 2003 reset does not commit after it', async () => {
    const w = world();
    const peerId = (await w.device()).state.ephemeral!.peerId;
    await w.deliver(await w.show(), 'alice');
    // The real device starts its Completion: the server answers type 1 with type 6 ...
    const { peerStep, startPeerConversation } = await import('../../src/peer/noob/peer-state-machine.js');
    const { encodeResponse } = await import('../../src/noob/message-codec.js');
    const env = { config: w.peerConfig, now: w.clock.now(), random: systemRandom };
    let pstate = await w.peerStore.load();
    let conv = startPeerConversation('noob@devices.example.org');
    const real = w.method.createSession({ identity: 'noob@devices.example.org', conversationId: 'device', maxEapPacket: 1400, nas: { clientName: 'nas' }, log: w.log });
    let step = await real.start();
    for (;;) {
      const out = peerStep(conv, pstate, (step as { data: Uint8Array }).data, env);
      conv = out.conv;
      if (out.save) pstate = out.save;
      if (json(step).Type === 6) {
        // ... and before the device's MACp arrives, the attacker resets the registration.
        await forceOobReject(w.open, peerId);
        const afterReset = await w.store.get(peerId);
        expect(afterReset?.state).toBe(1);
        const last = await real.step(encodeResponse(out.response));
        expect(last.kind).toBe('request');
        expect(json(last)).toMatchObject({ Type: 0, ErrorCode: 2002 });
        expect(await w.store.get(peerId)).toEqual(afterReset);
        break;
      }
      step = await real.step(encodeResponse(out.response));
    }
  });

  it('server-to-peer: once bound, a code issued for another account is refused, and the device completes under the bound one', async () => {
    const w = world(3);
    const peerId = (await w.device()).state.ephemeral!.peerId;
    await w.bothDirections(peerId);
    const url = await w.show();
    await w.deliver(url, 'alice');
    await forceOobReject(w.open, peerId);
    const issue = (account: string) => issueServerToPeerOob({ store: w.store, config: w.method.config, clock: w.clock.now, log: w.log }, peerId, { account });
    expect(await issue('mallory')).toMatchObject({ ok: false, reason: 'account-bound' });
    const ok = await issue('alice');
    expect(ok.ok).toBe(true);
    const acc = acceptServerOob(await w.peerStore.load(), (ok as { url: string }).url, { config: w.peerConfig, now: w.clock.now() });
    expect(acc.ok).toBe(true);
    await w.peerStore.save(acc.state);
    expect(await w.device()).toMatchObject({ result: 'success', exchange: 'completion' });
    expect(await w.store.get(peerId)).toMatchObject({ state: 4, account: 'alice' });
  });

  it('a tie: a code issued for mallory before alice delivered the device’s code is not recognised (2003), and the device completes under alice', async () => {
    const w = world(3);
    const peerId = (await w.device()).state.ephemeral!.peerId;
    await w.bothDirections(peerId);
    const issued = await issueServerToPeerOob({ store: w.store, config: w.method.config, clock: w.clock.now }, peerId, { account: 'mallory' });
    expect(issued.ok).toBe(true);
    await w.deliver(await w.show(), 'alice');
    const acc = acceptServerOob(await w.peerStore.load(), (issued as { url: string }).url, { config: w.peerConfig, now: w.clock.now() });
    await w.peerStore.save(acc.state);
    // RFC 9140: server-to-peer wins a tie — but not against the account the first delivery bound.
    expect(await w.device()).toMatchObject({ result: 'failure', exchange: 'completion', serverError: 2003 });
    expect(w.log.lines.some((l) => l.level === 'warn' && (l.obj as { boundAccount?: string }).boundAccount === 'alice')).toBe(true);
    expect(await w.device()).toMatchObject({ result: 'success', exchange: 'completion' });
    expect(await w.store.get(peerId)).toMatchObject({ state: 4, account: 'alice' });
  });

  it('an administrator’s owner reset lets another account bind; consumed codes stay refused; audited', async () => {
    const w = world();
    const peerId = (await w.device()).state.ephemeral!.peerId;
    const url = await w.show();
    await w.deliver(url, 'alice');
    await forceOobReject(w.open, peerId);
    expect(await resetNoobOwner({ store: w.store, clock: w.clock.now, log: w.log, audit: w.audit }, peerId)).toMatchObject({ ok: true, previousAccount: 'alice' });
    expect(w.audit.entries).toContainEqual(expect.objectContaining({ event: 'noob.owner.reset', subject: peerId, detail: expect.objectContaining({ previousAccount: 'alice' }) }));
    expect(await w.store.get(peerId)).toMatchObject({ state: 1, accountBound: false });
    expect((await w.store.get(peerId))?.account).toBeUndefined();
    expect(await w.deliver(url, 'bob')).toMatchObject({ ok: false, reason: 'consumed' });
    w.clock.advance(w.peerConfig.noobInterval);
    expect(await w.deliver(await w.show(), 'bob')).toMatchObject({ ok: true, account: 'bob' });
    expect(await w.device()).toMatchObject({ result: 'success' });
    expect(await w.store.get(peerId)).toMatchObject({ state: 4, account: 'bob' });
  });

  it('a delivery without an account also fixes the binding (no owner) until an administrator resets it', async () => {
    const w = world();
    const peerId = (await w.device()).state.ephemeral!.peerId;
    await w.deliver(await w.show());
    await forceOobReject(w.open, peerId);
    w.clock.advance(w.peerConfig.noobInterval);
    const fresh = await w.show();
    expect(await w.deliver(fresh, 'mallory')).toMatchObject({ ok: false, reason: 'account-bound' });
    expect(await deliverOob({ store: w.store, clock: w.clock.now }, (await import('../../src/noob/oob.js')).parseOobMessage(fresh))).toMatchObject({ ok: true });
  });

  type Op = { op: 'deliver'; account: 'alice' | 'mallory' | undefined } | { op: 'replay-first'; account: 'alice' | 'mallory' } | { op: 'forge-2003' } | { op: 'device' } | { op: 'time' };
  const OPS: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('deliver' as const), account: fc.constantFrom('alice' as const, 'mallory' as const, undefined) }),
    fc.record({ op: fc.constant('replay-first' as const), account: fc.constantFrom('alice' as const, 'mallory' as const) }),
    fc.constant({ op: 'forge-2003' as const }),
    fc.constant({ op: 'device' as const }),
    fc.constant({ op: 'time' as const }),
  );

  it('property: whatever the order of deliveries, forged 2003s, replays and connections, the device is only ever granted under the account the first accepted delivery chose', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(OPS, { minLength: 1, maxLength: 14 }), async (ops) => {
        const w = world();
        const peerId = (await w.device()).state.ephemeral!.peerId;
        let first: { account: string | undefined } | undefined;
        let firstUrl: string | undefined;
        for (const o of ops) {
          switch (o.op) {
            case 'deliver': {
              if ((await w.peerStore.load()).state !== 1) break;
              const url = await w.show();
              const r = await w.deliver(url, o.account);
              if (r.ok && first === undefined) {
                first = { account: o.account };
                firstUrl = url;
              }
              if (r.ok) expect(r.account).toBe(first!.account);
              break;
            }
            case 'replay-first':
              if (firstUrl !== undefined) expect((await w.deliver(firstUrl, o.account)).ok).toBe(false);
              break;
            case 'forge-2003': {
              const s = w.open();
              await s.start();
              const r = await s.step(utf8(`{"Type":1,"PeerId":"${peerId}","PeerState":1}`));
              if (r.kind === 'request') await s.step(utf8(`{"Type":0,"PeerId":"${peerId}","ErrorCode":2003}`));
              break;
            }
            case 'device':
              await w.device();
              break;
            case 'time':
              w.clock.advance(w.peerConfig.noobInterval);
              break;
          }
          const rec = await w.store.get(peerId);
          if (rec && first !== undefined) expect({ bound: rec.accountBound, account: rec.account }).toEqual({ bound: true, account: first.account });
        }
        for (const g of w.transport.grants) expect(g.account).toBe(first?.account);
        if (w.transport.grants.length > 0) expect(first).toBeDefined();
      }),
      { numRuns: 150 },
    );
  });
});
