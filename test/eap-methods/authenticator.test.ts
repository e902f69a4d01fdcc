import { DEFAULT_EAP_LIMITS, EapAuthenticator, type EapInput, type EapOutcome } from '../../src/eap-methods/authenticator.js';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import type { EapMethod, EapMethodSession, NasFacts, Step } from '../../src/eap-methods/method.js';
import { MethodSelector } from '../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../src/eap-methods/registry.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** A method that succeeds after `rounds` echo exchanges; it proves the core, not crypto. */
function echoMethod(type: number, name: string, rounds = 2, disposed: string[] = []): EapMethod {
  return {
    type,
    name,
    createSession(ctx): EapMethodSession {
      let n = 0;
      return {
        start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(n) }),
        step: async (data): Promise<Step> => {
          if (data[0] === 0xee) return { kind: 'failure', reason: 'peer said no' };
          if (data[0] === 0xdd) return { kind: 'discard', reason: 'junk' };
          if (data[0] === 0xcc) throw new Error('method bug');
          n++;
          if (n >= rounds) return { kind: 'success', msk: new Uint8Array(64).fill(n), grant: { identity: ctx.identity, method: name } };
          return { kind: 'request', data: Uint8Array.of(n) };
        },
        dispose: () => { disposed.push(ctx.conversationId); },
      };
    },
  };
}

const nas = { clientName: 'test', callingStationId: '02-00-00-00-00-01' };
const identity = (id: number, name: string): Uint8Array => encodeEap({ code: 2, identifier: id, type: EapType.Identity, data: Buffer.from(name) });
const response = (id: number, type: number, data: number[]): Uint8Array => encodeEap({ code: 2, identifier: id, type, data: Uint8Array.from(data) });

function setup(limits = {}, disposed: string[] = []): EapAuthenticator {
  const registry = new MethodRegistry();
  registry.register(echoMethod(200, 'echo-a', 2, disposed));
  registry.register(echoMethod(201, 'echo-b', 1, disposed));
  const selector = new MethodSelector([{ realm: 'b.example', methods: ['echo-b', 'echo-a'] }], ['echo-a']);
  return new EapAuthenticator(registry, selector, { ...DEFAULT_EAP_LIMITS, ...limits }, new MemoryLog());
}

function requestOf(o: EapOutcome): { id: number; type: number; data: number[] } {
  if (o.kind !== 'challenge') throw new Error(`expected a challenge, got ${o.kind}: ${JSON.stringify(o)}`);
  const p = decodeEap(o.eap);
  if (p.code !== 1) throw new Error('not a request');
  return { id: p.identifier, type: p.type, data: [...p.data] };
}

describe('EAP authenticator (RFC 3748 behind RADIUS)', () => {
  test('EAP-Start → Identity → method rounds → Success with the MSK', async () => {
    const eap = setup();
    const start = await eap.handle({ eap: new Uint8Array(0), nas });
    const idReq = requestOf(start);
    expect(idReq.type).toBe(EapType.Identity);
    const state = (start as { state: Uint8Array }).state;
    expect(state).toHaveLength(16);
    const r1 = await eap.handle({ eap: identity(idReq.id, 'alice@a.example'), state, nas });
    const m1 = requestOf(r1);
    expect(m1.type).toBe(200);
    expect(m1.id).toBe((idReq.id + 1) & 0xff);
    const r2 = requestOf(await eap.handle({ eap: response(m1.id, 200, [1]), state, nas }));
    const done = await eap.handle({ eap: response(r2.id, 200, [2]), state, nas });
    expect(done).toMatchObject({ kind: 'accept', identity: 'alice@a.example', grant: { identity: 'alice@a.example', method: 'echo-a' } });
    const success = decodeEap((done as { eap: Uint8Array }).eap);
    expect(success).toEqual({ code: 3, identifier: r2.id });
    expect(eap.activeConversations).toBe(0);
    eap.close();
  });

  test('Identity without State starts a conversation; realm rules choose the method', async () => {
    const eap = setup();
    const r = await eap.handle({ eap: identity(5, 'dev@b.example'), nas });
    expect(requestOf(r)).toMatchObject({ type: 201, id: 6 });
    eap.close();
  });

  test('a Nak picks another allowed method; a Nak offering nothing allowed fails', async () => {
    const eap = setup();
    const r = await eap.handle({ eap: identity(1, 'dev@b.example'), nas });
    const state = (r as { state: Uint8Array }).state;
    const next = requestOf(await eap.handle({ eap: response(2, EapType.Nak, [200]), state, nas }));
    expect(next).toMatchObject({ type: 200, id: 3 });
    // After answering in kind, a Nak is no longer valid: the last Request is re-sent.
    const again = requestOf(await eap.handle({ eap: response(3, 200, [1]), state, nas }));
    const resent = await eap.handle({ eap: response(again.id, EapType.Nak, [201]), state, nas });
    expect(requestOf(resent)).toEqual(again);

    const r2 = await eap.handle({ eap: identity(1, 'x@b.example'), nas });
    const none = await eap.handle({ eap: response(2, EapType.Nak, [0]), state: (r2 as { state: Uint8Array }).state, nas });
    expect(none).toMatchObject({ kind: 'reject' });
    expect(decodeEap((none as { eap: Uint8Array }).eap)).toEqual({ code: 4, identifier: 2 });
    eap.close();
  });

  test('wrong EAP Identifier re-sends the outstanding Request, and too many end in Reject', async () => {
    const eap = setup({ maxInvalidPackets: 2 });
    const r = await eap.handle({ eap: identity(9, 'alice'), nas });
    const state = (r as { state: Uint8Array }).state;
    const outstanding = requestOf(r);
    for (let i = 0; i < 2; i++) {
      expect(requestOf(await eap.handle({ eap: response(outstanding.id + 7, 200, [1]), state, nas }))).toEqual(outstanding);
    }
    expect(await eap.handle({ eap: response(outstanding.id + 7, 200, [1]), state, nas })).toMatchObject({ kind: 'reject', reason: expect.stringContaining('too many invalid') as string });
    eap.close();
  });

  test('unknown State, Requests from the peer and malformed EAP are rejected with a reason', async () => {
    const eap = setup();
    expect(await eap.handle({ eap: response(1, 200, [1]), state: new Uint8Array(16), nas })).toMatchObject({ kind: 'reject', reason: 'unknown or expired State' });
    expect(await eap.handle({ eap: encodeEap({ code: 1, identifier: 1, type: 1, data: new Uint8Array(0) }), nas })).toMatchObject({ kind: 'reject' });
    expect(await eap.handle({ eap: Uint8Array.from([2, 1, 0, 99, 1]), nas })).toMatchObject({ kind: 'reject', reason: expect.stringContaining('length-mismatch') as string });
    eap.close();
  });

  test('method failure and a throwing method end in Reject and dispose the session', async () => {
    const disposed: string[] = [];
    const eap = setup({ maxRounds: 3 }, disposed);
    for (const poison of [0xee, 0xcc]) {
      const r = await eap.handle({ eap: identity(1, 'alice'), nas });
      const m = requestOf(r);
      const out = await eap.handle({ eap: response(m.id, 200, [poison]), state: (r as { state: Uint8Array }).state, nas });
      expect(out.kind).toBe('reject');
    }
    expect(disposed).toHaveLength(2);
    eap.close();
  });

  test('the round limit ends a conversation that never finishes', async () => {
    const registry = new MethodRegistry();
    registry.register(echoMethod(200, 'echo-long', 1000));
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['echo-long']), { ...DEFAULT_EAP_LIMITS, maxRounds: 3 }, new MemoryLog());
    let out = await eap.handle({ eap: identity(1, 'alice'), nas });
    const state = (out as { state: Uint8Array }).state;
    let rounds = 0;
    while (out.kind === 'challenge') {
      out = await eap.handle({ eap: response(requestOf(out).id, 200, [1]), state, nas });
      rounds++;
    }
    expect(rounds).toBe(4);
    expect(out).toMatchObject({ kind: 'reject', reason: 'more than 3 round trips' });
    eap.close();
  });

  test('a new conversation from the same station replaces the unfinished one', async () => {
    const disposed: string[] = [];
    const eap = setup({}, disposed);
    const first = await eap.handle({ eap: identity(1, 'alice'), nas });
    await eap.handle({ eap: identity(1, 'alice'), nas });
    expect(eap.activeConversations).toBe(1);
    expect(disposed).toHaveLength(1);
    const stale = await eap.handle({ eap: response(2, 200, [1]), state: (first as { state: Uint8Array }).state, nas });
    expect(stale).toMatchObject({ kind: 'reject' });
    eap.close();
  });

  test('a new conversation with the same Calling-Station-Id on another RADIUS client replaces nothing', async () => {
    const disposed: string[] = [];
    const eap = setup({}, disposed);
    const onA = await eap.handle({ eap: identity(1, 'alice'), nas: { clientName: 'ap-a', callingStationId: '02-00-00-00-00-01' } });
    await eap.handle({ eap: identity(1, 'mallory'), nas: { clientName: 'ap-b', callingStationId: '02-00-00-00-00-01' } });
    expect(eap.activeConversations).toBe(2);
    expect(disposed).toHaveLength(0);
    const m = requestOf(onA);
    const next = await eap.handle({ eap: response(m.id, 200, [1]), state: (onA as { state: Uint8Array }).state, nas: { clientName: 'ap-a', callingStationId: '02-00-00-00-00-01' } });
    expect(next.kind).toBe('challenge');
    eap.close();
  });

  test('the session table is bounded: when full, the oldest conversation without a Response gives way', async () => {
    const disposed: string[] = [];
    const eap = setup({ maxSessions: 3, clientShare: 1 }, disposed);
    const first: EapOutcome[] = [];
    for (let i = 0; i < 3; i++) {
      first.push(await eap.handle({ eap: identity(1, `u${i}`), nas: { clientName: 't', callingStationId: `s${i}` } }));
    }
    // u0 answers, so u1 is now the oldest that never did.
    const u0 = first[0] as { state: Uint8Array; conversationId: string };
    expect((await eap.handle({ eap: response(requestOf(first[0]!).id, 200, [1]), state: u0.state, nas: { clientName: 't', callingStationId: 's0' } })).kind).toBe('challenge');
    expect((await eap.handle({ eap: identity(1, 'u3'), nas: { clientName: 't', callingStationId: 's3' } })).kind).toBe('challenge');
    expect(disposed).toEqual([(first[1] as { conversationId: string }).conversationId]);
    expect(eap.activeConversations).toBe(3);
    expect(eap.admission).toMatchObject({ conversations: 3, fresh: 2, progressing: 1, evicted: 1, refused: 0 });
    eap.close();
  });

  test('established conversations never give way: a full table of them refuses newcomers', async () => {
    const eap = setup({ maxSessions: 2, clientShare: 1, protectAfterRounds: 1 });
    for (let i = 0; i < 2; i++) {
      const nasI = { clientName: 't', callingStationId: `s${i}` };
      const r = await eap.handle({ eap: identity(1, `u${i}`), nas: nasI });
      expect((await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state: (r as { state: Uint8Array }).state, nas: nasI })).kind).toBe('challenge');
    }
    expect(eap.admission).toMatchObject({ established: 2 });
    const refused = await eap.handle({ eap: identity(1, 'u9'), nas: { clientName: 't', callingStationId: 's9' } });
    expect(refused).toMatchObject({ kind: 'drop', reason: expect.stringContaining('none of which may give way') });
    expect(eap.activeConversations).toBe(2);
    eap.close();
  });

  test("a method's established signal protects the conversation from then on", async () => {
    const registry = new MethodRegistry();
    registry.register({
      type: 200,
      name: 'proving',
      createSession: () => ({
        start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(0) }),
        step: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(1), established: true }),
        dispose: () => undefined,
      }),
    });
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['proving']), { ...DEFAULT_EAP_LIMITS, maxSessions: 1, clientShare: 1 }, new MemoryLog());
    const r = await eap.handle({ eap: identity(1, 'alice'), nas });
    expect(eap.admission).toMatchObject({ fresh: 1 });
    await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state: (r as { state: Uint8Array }).state, nas });
    expect(eap.admission).toMatchObject({ established: 1, fresh: 0 });
    expect(await eap.handle({ eap: identity(1, 'bob'), nas: { clientName: 'test', callingStationId: 'other' } })).toMatchObject({ kind: 'drop' });
    eap.close();
  });

  test('after protectAfterRounds Responses a conversation counts as established without the method saying so', async () => {
    const registry = new MethodRegistry();
    registry.register(echoMethod(200, 'echo-long', 5));
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['echo-long']), { ...DEFAULT_EAP_LIMITS, protectAfterRounds: 2 }, new MemoryLog());
    const r = await eap.handle({ eap: identity(1, 'alice'), nas });
    const state = (r as { state: Uint8Array }).state;
    const r2 = await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state, nas });
    expect(eap.admission).toMatchObject({ progressing: 1, established: 0 });
    // A Response with a stale Identifier is not a round: it neither refreshes nor promotes.
    await eap.handle({ eap: response((requestOf(r2).id + 7) & 0xff, 200, [1]), state, nas });
    expect(eap.admission).toMatchObject({ progressing: 1, established: 0 });
    await eap.handle({ eap: response(requestOf(r2).id, 200, [1]), state, nas });
    expect(eap.admission).toMatchObject({ progressing: 0, established: 1 });
    eap.close();
  });

  // FAILS at e3af32f: fragment ACK rounds of EAP-TLS and TEAP made a conversation established.
  test('a method that declares establishment itself is never established by round count', async () => {
    const registry = new MethodRegistry();
    registry.register({ ...echoMethod(200, 'declaring', 20), declaresEstablished: true });
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['declaring']), { ...DEFAULT_EAP_LIMITS, protectAfterRounds: 2 }, new MemoryLog());
    let r = await eap.handle({ eap: identity(1, 'alice'), nas });
    const state = (r as { state: Uint8Array }).state;
    for (let i = 0; i < 6; i++) r = await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state, nas });
    expect(r.kind).toBe('challenge');
    expect(eap.admission).toMatchObject({ progressing: 1, established: 0 });
    eap.close();
  });

  // FAILS at 8a6e92b (a hostile review): Naks and Responses before the Identity counted as rounds,
  // under whatever method was current, and a Nak could go back to a method already tried: ten Naks
  // between EAP-TLS and EAP-MSCHAPv2 established the conversation, then EAP-TLS ran protected.
  test('only Responses to a method count towards protectAfterRounds, and a Nak never goes back to a method tried', async () => {
    const registry = new MethodRegistry();
    registry.register({ ...echoMethod(200, 'declaring', 40), declaresEstablished: true });
    registry.register(echoMethod(201, 'counted', 40));
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['declaring', 'counted']), { ...DEFAULT_EAP_LIMITS, protectAfterRounds: 3 }, new MemoryLog());
    // EAP-Start, then unusable Responses before any Identity: no method, nothing counted.
    let r = await eap.handle({ eap: new Uint8Array(0), nas });
    const state = (r as { state: Uint8Array }).state;
    for (let i = 0; i < 4; i++) r = await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state, nas });
    r = await eap.handle({ eap: response(requestOf(r).id, EapType.Identity, [...Buffer.from('alice')]), state, nas });
    expect(eap.admission).toMatchObject({ progressing: 1, established: 0 });
    // A Nak moves to 'counted'; a Nak back to 'declaring', tried already, ends the conversation.
    r = await eap.handle({ eap: response(requestOf(r).id, EapType.Nak, [201]), state, nas });
    expect(r.kind).toBe('challenge');
    expect(eap.admission).toMatchObject({ established: 0 });
    const back = await eap.handle({ eap: response(requestOf(r).id, EapType.Nak, [200]), state, nas });
    expect(back).toMatchObject({ kind: 'reject', reason: expect.stringContaining('not yet tried') });
    eap.close();
  });

  test('a method that never declares establishment is established after protectAfterRounds of its own Responses', async () => {
    const registry = new MethodRegistry();
    registry.register(echoMethod(201, 'counted', 40));
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['counted']), { ...DEFAULT_EAP_LIMITS, protectAfterRounds: 3 }, new MemoryLog());
    let r = await eap.handle({ eap: identity(1, 'alice'), nas });
    const state = (r as { state: Uint8Array }).state;
    for (let i = 0; i < 2; i++) r = await eap.handle({ eap: response(requestOf(r).id, 201, [1]), state, nas });
    // An unusable Response is no round of the method.
    r = await eap.handle({ eap: response(requestOf(r).id, 201, [0xdd]), state, nas });
    expect(eap.admission).toMatchObject({ progressing: 1, established: 0 });
    await eap.handle({ eap: response(requestOf(r).id, 201, [1]), state, nas });
    expect(eap.admission).toMatchObject({ progressing: 0, established: 1 });
    eap.close();
  });

  test('idle conversations expire', async () => {
    let now = 1_000_000;
    const registry = new MethodRegistry();
    registry.register(echoMethod(200, 'echo-a'));
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['echo-a']), { ...DEFAULT_EAP_LIMITS, idleTimeoutMs: 5000 }, new MemoryLog(), () => now);
    const input: EapInput = { eap: identity(1, 'alice'), nas };
    const r = await eap.handle(input);
    now += 6000;
    const late = await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state: (r as { state: Uint8Array }).state, nas });
    // The sweep may not have run yet; the lookup itself must not resurrect an expired conversation.
    expect(late).toMatchObject({ kind: 'reject', reason: 'unknown or expired State' });
    expect(eap.activeConversations).toBe(0);
    eap.close();
  });

  test('a method success that names no one is refused (fail closed) and logged', async () => {
    const registry = new MethodRegistry();
    registry.register({
      type: 200,
      name: 'nameless',
      createSession: () => ({
        start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(0) }),
        step: async (): Promise<Step> => ({ kind: 'success', msk: new Uint8Array(64).fill(1), grant: { identity: '', method: 'nameless' } }),
        dispose: () => undefined,
      }),
    });
    const log = new MemoryLog();
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['nameless']), DEFAULT_EAP_LIMITS, log);
    const r = await eap.handle({ eap: identity(1, 'ceo@corp.example'), nas });
    const m = requestOf(r);
    const out = await eap.handle({ eap: response(m.id, 200, [0]), state: (r as { state: Uint8Array }).state, nas });
    expect(out).toEqual({ kind: 'reject', eap: encodeEap({ code: 4, identifier: m.id }), reason: 'nameless succeeded without an authenticated identity', conversationId: expect.any(String) as string });
    expect(log.lines.some((l) => l.level === 'error' && l.msg === 'EAP method succeeded without an authenticated identity: refused')).toBe(true);
    expect(eap.activeConversations).toBe(0);
    eap.close();
  });

  test("a grant is in the name of the method that ran: a plugin writing eap-noob into its grant gets its own name, with one warning", async () => {
    const registry = new MethodRegistry();
    registry.register({
      type: 200,
      name: 'impostor',
      createSession: () => ({
        start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(0) }),
        step: async (): Promise<Step> => ({ kind: 'success', msk: new Uint8Array(64).fill(1), grant: { identity: 'P1', method: 'eap-noob', account: 'ceo', peerInfo: '{"MUDURL":"https://mud.example/x.json"}' } }),
        dispose: () => undefined,
      }),
    });
    const log = new MemoryLog();
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['impostor']), DEFAULT_EAP_LIMITS, log);
    for (let i = 0; i < 2; i++) {
      const r = await eap.handle({ eap: identity(1, 'ceo@corp.example'), nas });
      const m = requestOf(r);
      const out = await eap.handle({ eap: response(m.id, 200, [0]), state: (r as { state: Uint8Array }).state, nas });
      expect(out).toMatchObject({ kind: 'accept', grant: { identity: 'P1', method: 'impostor', account: 'ceo' } });
    }
    const warnings = log.lines.filter((l) => l.level === 'warn' && (l.msg ?? '').startsWith("EAP method wrote another method's name into its grant"));
    expect(warnings.map((l) => l.obj)).toEqual([{ method: 'impostor', grantMethod: 'eap-noob' }]);
    eap.close();
  });

  test('the name is the one the method is registered under: a method renaming itself, or a grant whose method changes when read again, still grants as registered', async () => {
    let reads = 0;
    const shifty = {
      type: 200,
      name: 'shifty',
      createSession(): EapMethodSession {
        shifty.name = 'eap-noob';
        return {
          start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(0) }),
          step: async (): Promise<Step> => ({
            kind: 'success',
            msk: new Uint8Array(64).fill(1),
            grant: { identity: 'P1', account: 'ceo', get method() { reads += 1; return reads <= 2 ? 'shifty' : 'eap-noob'; } },
          }),
          dispose: () => undefined,
        };
      },
    };
    const registry = new MethodRegistry();
    registry.register(shifty);
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['shifty']), DEFAULT_EAP_LIMITS, new MemoryLog());
    const r = await eap.handle({ eap: identity(1, 'ceo@corp.example'), nas });
    const m = requestOf(r);
    const out = await eap.handle({ eap: response(m.id, 200, [0]), state: (r as { state: Uint8Array }).state, nas });
    expect(shifty.name).toBe('eap-noob');
    expect(out).toMatchObject({ kind: 'accept', grant: { identity: 'P1', method: 'shifty' } });
    const grant = (out as { grant: { method: string } }).grant;
    expect([grant.method, grant.method, grant.method]).toEqual(['shifty', 'shifty', 'shifty']);
    eap.close();
  });

  describe('a conversation continues only from the client, NAS and station that began it', () => {
    const began: NasFacts = {
      clientName: 'ap-1', clientAddress: '127.0.0.1', nasIpAddress: '192.0.2.1', nasIpv6Address: '2001:db8::1',
      nasIdentifier: 'ap-1.example', callingStationId: '02-00-00-00-00-01', calledStationId: 'AA-BB-CC-DD-EE-FF:corp',
    };
    const foreign: [string, NasFacts][] = [
      ['RADIUS client', { ...began, clientName: 'ap-2' }],
      ['source address', { ...began, clientAddress: '127.0.0.2' }],
      ['NAS-IP-Address', { ...began, nasIpAddress: '192.0.2.2' }],
      ['NAS-IPv6-Address', { ...began, nasIpv6Address: '2001:db8::2' }],
      ['NAS-Identifier', { ...began, nasIdentifier: 'ap-2.example' }],
      ['Calling-Station-Id', { ...began, callingStationId: '02-00-00-00-00-66' }],
      ['Calling-Station-Id', (({ callingStationId: _, ...rest }) => rest)(began)],
      ['NAS-Identifier', (({ nasIdentifier: _, ...rest }) => rest)(began)],
    ];

    test.each(foreign)('another %s: refused like an unknown State; the real conversation is untouched and succeeds', async (fact, other) => {
      const log = new MemoryLog();
      const registry = new MethodRegistry();
      registry.register(echoMethod(200, 'echo-a', 2));
      // No invalid packet tolerated: were the foreign Response counted against the conversation, it would end.
      const eap = new EapAuthenticator(registry, new MethodSelector([], ['echo-a']), { ...DEFAULT_EAP_LIMITS, maxInvalidPackets: 0 }, log);
      const r = await eap.handle({ eap: identity(1, 'alice'), nas: began });
      const state = (r as { state: Uint8Array }).state;
      const m1 = requestOf(r);
      const m2 = requestOf(await eap.handle({ eap: response(m1.id, 200, [1]), state, nas: began }));

      // The final Response, byte for byte, from elsewhere: what a hijacker would send first.
      const stolen = await eap.handle({ eap: response(m2.id, 200, [2]), state, nas: other });
      expect(stolen).toEqual({ kind: 'reject', eap: encodeEap({ code: 4, identifier: m2.id }), reason: `unknown State here (its conversation began with another ${fact})` });
      const warning = log.lines.find((l) => l.level === 'warn');
      expect(warning?.obj).toMatchObject({ fact });
      expect(warning?.msg).toContain('treated as unknown');
      expect(eap.activeConversations).toBe(1);
      // Also an Identity, a malformed packet and a Request under the stolen State leave it alone.
      expect(await eap.handle({ eap: Uint8Array.from([2, 1, 0, 99, 1]), state, nas: other })).toMatchObject({ kind: 'reject' });
      expect(await eap.handle({ eap: encodeEap({ code: 1, identifier: 1, type: 1, data: new Uint8Array(0) }), state, nas: other })).toMatchObject({ kind: 'reject' });
      expect(eap.activeConversations).toBe(1);

      const done = await eap.handle({ eap: response(m2.id, 200, [2]), state, nas: began });
      expect(done).toMatchObject({ kind: 'accept', grant: { identity: 'alice' } });
      expect((done as { msk: Uint8Array }).msk).toEqual(new Uint8Array(64).fill(2));
      eap.close();
    });

    test('a foreign State does not keep the conversation alive past its idle time', async () => {
      let now = 1_000_000;
      const registry = new MethodRegistry();
      registry.register(echoMethod(200, 'echo-a', 2));
      const eap = new EapAuthenticator(registry, new MethodSelector([], ['echo-a']), { ...DEFAULT_EAP_LIMITS, idleTimeoutMs: 5000 }, new MemoryLog(), () => now);
      const r = await eap.handle({ eap: identity(1, 'alice'), nas: began });
      const state = (r as { state: Uint8Array }).state;
      now += 4000;
      await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state, nas: { ...began, clientName: 'ap-2' } });
      now += 2000;
      expect(await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state, nas: began })).toMatchObject({ kind: 'reject', reason: 'unknown or expired State' });
      eap.close();
    });

    test('an Identity under a foreign State starts the sender\'s own conversation', async () => {
      const eap = setup();
      const r = await eap.handle({ eap: identity(1, 'alice'), nas: began });
      const state = (r as { state: Uint8Array }).state;
      const theirs = await eap.handle({ eap: identity(2, 'mallory'), state, nas: { ...began, clientName: 'ap-2' } });
      expect(theirs.kind).toBe('challenge');
      expect(Buffer.from((theirs as { state: Uint8Array }).state).equals(Buffer.from(state))).toBe(false);
      expect(eap.activeConversations).toBe(2);
      expect((await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state, nas: began })).kind).toBe('challenge');
      eap.close();
    });

    test('Called-Station-Id is not part of the binding', async () => {
      const eap = setup();
      const r = await eap.handle({ eap: identity(1, 'alice'), nas: began });
      const next = await eap.handle({ eap: response(requestOf(r).id, 200, [1]), state: (r as { state: Uint8Array }).state, nas: { ...began, calledStationId: 'other' } });
      expect(next.kind).toBe('challenge');
      eap.close();
    });
  });
});
