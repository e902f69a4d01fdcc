/**
 * What the EAP core reports for metrics: each conversation ends exactly once, under the method
 * running then, with a fixed outcome word and its round trips; Responses that belong to nothing
 * are counted by reason. Free-text reasons never reach the observer.
 */
import { DEFAULT_EAP_LIMITS, EapAuthenticator, type EapAuthenticatorLimits, type EapOutcome } from '../../src/eap-methods/authenticator.js';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import type { EapMethod, Step } from '../../src/eap-methods/method.js';
import { MethodSelector } from '../../src/eap-methods/method-selection.js';
import type { ConversationEnd, EapObserver, StrayReason } from '../../src/eap-methods/observer.js';
import { MethodRegistry } from '../../src/eap-methods/registry.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** Succeeds after `rounds` Responses; 0xee fails, 0xdd is discarded, 0xcc throws. */
function method(type: number, name: string, rounds: number): EapMethod {
  return {
    type,
    name,
    createSession: (ctx) => {
      let n = 0;
      return {
        start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(0) }),
        step: async (data): Promise<Step> => {
          if (data[0] === 0xee) return { kind: 'failure', reason: `no for ${ctx.identity}` };
          if (data[0] === 0xdd) return { kind: 'discard', reason: 'junk' };
          if (data[0] === 0xcc) throw new Error('method bug');
          return ++n >= rounds ? { kind: 'success', msk: new Uint8Array(64), grant: { identity: ctx.identity, method: name } } : { kind: 'request', data: Uint8Array.of(n) };
        },
        dispose: () => {},
      };
    },
  };
}

type Event = ['started', string] | ['ended', string | undefined, ConversationEnd, number] | ['invalid'] | ['stray', StrayReason];

function setup(limits: Partial<EapAuthenticatorLimits> = {}, clock = { now: 0 }): { eap: EapAuthenticator; events: Event[] } {
  const events: Event[] = [];
  const observer: EapObserver = {
    methodStarted: (m) => events.push(['started', m]),
    conversationEnded: (m, end, trips) => events.push(['ended', m, end, trips]),
    invalidResponse: () => events.push(['invalid']),
    stray: (reason) => events.push(['stray', reason]),
  };
  const registry = new MethodRegistry();
  registry.register(method(200, 'echo-a', 2));
  registry.register(method(201, 'echo-b', 1));
  const selector = new MethodSelector([{ realm: 'b.example', methods: ['echo-b', 'echo-a'] }, { realm: 'none.example', methods: [] }], ['echo-a']);
  const eap = new EapAuthenticator(registry, selector, { ...DEFAULT_EAP_LIMITS, ...limits }, new MemoryLog(), () => clock.now, undefined, observer);
  return { eap, events };
}

const nas = { clientName: 'test', callingStationId: '02-00-00-00-00-01' };
const identity = (id: number, name: string): Uint8Array => encodeEap({ code: 2, identifier: id, type: EapType.Identity, data: Buffer.from(name) });
const response = (id: number, type: number, data: number[]): Uint8Array => encodeEap({ code: 2, identifier: id, type, data: Uint8Array.from(data) });

function next(o: EapOutcome): { id: number; state: Uint8Array } {
  if (o.kind !== 'challenge') throw new Error(`expected a challenge, got ${o.kind}`);
  return { id: decodeEap(o.eap).identifier, state: o.state };
}

describe('EAP observer: conversations and stray Responses, counted in fixed words', () => {
  test('EAP-Start, Identity and two method rounds: one start, one success after 4 exchanges', async () => {
    const { eap, events } = setup();
    const s = next(await eap.handle({ eap: new Uint8Array(0), nas }));
    const r1 = next(await eap.handle({ eap: identity(s.id, 'alice@a.example'), state: s.state, nas }));
    const r2 = next(await eap.handle({ eap: response(r1.id, 200, [1]), state: s.state, nas }));
    expect(await eap.handle({ eap: response(r2.id, 200, [2]), state: s.state, nas })).toMatchObject({ kind: 'accept' });
    expect(events).toEqual([['started', 'echo-a'], ['ended', 'echo-a', 'success', 4]]);
    eap.close();
    expect(events).toHaveLength(2);
  });

  test.each([
    [0xee, 'failure'],
    [0xcc, 'method-error'],
  ] as const)('a Response the method answers with %s: %s', async (octet, end) => {
    const { eap, events } = setup();
    const r = next(await eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    expect(await eap.handle({ eap: response(r.id, 200, [octet]), state: r.state, nas })).toMatchObject({ kind: 'reject' });
    expect(events).toEqual([['started', 'echo-a'], ['ended', 'echo-a', end, 2]]);
    eap.close();
  });

  test('discarded Responses are invalid; past the limit: too-many-invalid', async () => {
    const { eap, events } = setup({ maxInvalidPackets: 1 });
    const r = next(await eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    next(await eap.handle({ eap: response(r.id, 200, [0xdd]), state: r.state, nas }));
    expect(await eap.handle({ eap: response(r.id, 200, [0xdd]), state: r.state, nas })).toMatchObject({ kind: 'reject' });
    expect(events).toEqual([['started', 'echo-a'], ['invalid'], ['invalid'], ['ended', 'echo-a', 'too-many-invalid', 3]]);
  });

  test('a Nak to another method starts it; the conversation ends under it', async () => {
    const { eap, events } = setup();
    const r = next(await eap.handle({ eap: identity(1, 'dev@b.example'), nas }));
    const a = next(await eap.handle({ eap: response(r.id, EapType.Nak, [200]), state: r.state, nas }));
    // echo-b first for b.example; the peer Nak'd it for echo-a, which needs two rounds.
    const a2 = next(await eap.handle({ eap: response(a.id, 200, [1]), state: r.state, nas }));
    expect(await eap.handle({ eap: response(a2.id, 200, [2]), state: r.state, nas })).toMatchObject({ kind: 'accept' });
    expect(events).toEqual([['started', 'echo-b'], ['started', 'echo-a'], ['ended', 'echo-a', 'success', 4]]);
  });

  test('no method for the identity, a Nak offering nothing allowed, too many rounds', async () => {
    const none = setup();
    expect(await none.eap.handle({ eap: identity(1, 'x@none.example'), nas })).toMatchObject({ kind: 'reject' });
    expect(none.events).toEqual([['ended', undefined, 'no-method', 1]]);

    const nak = setup();
    const r = next(await nak.eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    expect(await nak.eap.handle({ eap: response(r.id, EapType.Nak, [99]), state: r.state, nas })).toMatchObject({ kind: 'reject' });
    expect(nak.events).toEqual([['started', 'echo-a'], ['ended', 'echo-a', 'no-method', 2]]);

    const long = setup({ maxRounds: 1 });
    const l = next(await long.eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    const l2 = next(await long.eap.handle({ eap: response(l.id, 200, [1]), state: l.state, nas }));
    expect(await long.eap.handle({ eap: response(l2.id, 200, [2]), state: l.state, nas })).toMatchObject({ kind: 'reject' });
    expect(long.events).toEqual([['started', 'echo-a'], ['ended', 'echo-a', 'too-many-rounds', 3]]);
  });

  test('the peer sends a Request inside a conversation: protocol-error', async () => {
    const { eap, events } = setup();
    const r = next(await eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    const request = encodeEap({ code: 1, identifier: r.id, type: 200, data: Uint8Array.of(0) });
    expect(await eap.handle({ eap: request, state: r.state, nas })).toMatchObject({ kind: 'reject' });
    expect(events).toEqual([['started', 'echo-a'], ['ended', 'echo-a', 'protocol-error', 1]]);
  });

  test('ends the table decides: replaced, idle-timeout (before Identity: no method), shutdown', async () => {
    const clock = { now: 0 };
    const { eap, events } = setup({ idleTimeoutMs: 1000 }, clock);
    next(await eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    next(await eap.handle({ eap: identity(1, 'alice@a.example'), nas }));
    expect(events).toEqual([['started', 'echo-a'], ['ended', 'echo-a', 'replaced', 1], ['started', 'echo-a']]);
    events.length = 0;

    const s = next(await eap.handle({ eap: new Uint8Array(0), nas: { clientName: 'test', callingStationId: '02-00-00-00-00-02' } }));
    clock.now = 5000;
    expect(await eap.handle({ eap: identity(s.id, 'bob@a.example'), state: s.state, nas: { clientName: 'test', callingStationId: '02-00-00-00-00-02' } })).toMatchObject({ kind: 'challenge' });
    expect(events[0]).toEqual(['ended', undefined, 'idle-timeout', 1]);
    events.length = 0;

    eap.close();
    expect(events.filter((e) => e[0] === 'ended').map((e) => e[2])).toEqual(['shutdown', 'shutdown']);
  });

  test('Responses belonging to no conversation, by reason', async () => {
    const { eap, events } = setup();
    await eap.handle({ eap: response(1, 200, [1]), state: new Uint8Array(16), nas });
    await eap.handle({ eap: response(1, 200, [1]), nas });
    await eap.handle({ eap: Uint8Array.of(2, 1, 0), nas });
    await eap.handle({ eap: encodeEap({ code: 1, identifier: 1, type: 200, data: Uint8Array.of(0) }), nas });
    expect(events).toEqual([['stray', 'unknown-state'], ['stray', 'not-identity'], ['stray', 'malformed'], ['stray', 'not-response']]);
    eap.close();
  });
});
