import fc from 'fast-check';
import { integerAttribute, stringAttribute } from '../../src/radius/attributes.js';
import { checkMessageAuthenticator } from '../../src/radius/message-authenticator.js';
import { RadiusCode, decodePacket, encodePacket, getAttributes, type RadiusAttribute } from '../../src/radius/packet.js';
import { buildAccessRequest, buildAccountingStyleRequest, buildStatusServer, verifyResponse } from '../../src/radius/request.js';
import { getMppeKeys } from '../../src/radius/salt-encryption.js';
import {
  RadiusServer,
  type AccessReply,
  type AccessRequestContext,
  type AccessRequestHandler,
  type RadiusClientConfig,
  type RadiusServerOptions,
} from '../../src/radius/server.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { SheddingMonitor } from '../../src/util/shedding.js';
import type { RadiusObserver } from '../../src/radius/observer.js';
import type { DropReason } from '../../src/radius/server.js';
import { UdpPeer, deferred, waitFor } from './udp-helpers.js';

const SECRET = 'testing123-gangway';
const EAP_SUCCESS = Uint8Array.of(3, 1, 0, 4);

interface Harness {
  server: RadiusServer;
  port: number;
  log: MemoryLog;
  nas: UdpPeer;
  calls: AccessRequestContext[];
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function start(
  handler: AccessRequestHandler = async () => ({ code: 2, eapMessage: EAP_SUCCESS }),
  opts: Partial<RadiusServerOptions> & { clients?: RadiusClientConfig[] } = {},
): Promise<Harness> {
  const log = new MemoryLog();
  const calls: AccessRequestContext[] = [];
  const server = new RadiusServer({
    clients: [{ name: 'loopback', address: '127.0.0.1', secret: SECRET }],
    log,
    ...opts,
    handler: (ctx) => {
      calls.push(ctx);
      return handler(ctx);
    },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  const nas = await UdpPeer.open();
  open.push(server, nas);
  return { server, port, log, nas, calls };
}

function request(attributes: RadiusAttribute[] = [stringAttribute(1, 'nemo')], identifier = 1, secret = SECRET): { bytes: Uint8Array; authenticator: Uint8Array } {
  return buildAccessRequest({ identifier, attributes, secret });
}

/** An Access-Request with no Message-Authenticator at all. */
function legacyRequest(attributes: RadiusAttribute[], identifier = 1): Uint8Array {
  return encodePacket({ code: 1, identifier, authenticator: new Uint8Array(16).fill(identifier), attributes });
}

async function expectNoAnswer(h: Harness, reason: keyof RadiusServer['stats']['dropped'], count = 1): Promise<void> {
  await waitFor(() => h.server.stats.dropped[reason] >= count);
  expect(await h.nas.nextMessage(50)).toBeUndefined();
}

describe('RadiusServer over UDP', () => {
  test('Status-Server is answered by the server with an MA-first Access-Accept', async () => {
    const h = await start();
    const s = buildStatusServer({ identifier: 42, secret: SECRET });
    await h.nas.send(s.bytes, h.port);
    const reply = await h.nas.nextMessage();
    const p = verifyResponse(reply!, s.authenticator, SECRET);
    expect(p.code).toBe(RadiusCode.AccessAccept);
    expect(p.identifier).toBe(42);
    expect(p.attributes.map((a) => a.type)).toEqual([80]);
    expect(h.calls).toHaveLength(0);
    expect(h.server.stats.statusServer).toBe(1);
  });

  test('Status-Server without MA gets no answer', async () => {
    const h = await start();
    await h.nas.send(encodePacket({ code: 12, identifier: 1, authenticator: new Uint8Array(16), attributes: [] }), h.port);
    await expectNoAnswer(h, 'missing-message-authenticator');
  });

  test('Access-Request without MA gets no answer and is logged', async () => {
    const h = await start();
    await h.nas.send(legacyRequest([stringAttribute(1, 'nemo')]), h.port);
    await expectNoAnswer(h, 'missing-message-authenticator');
    expect(h.calls).toHaveLength(0);
    expect(h.log.lines.some((l) => l.level === 'warn' && (l.obj as { reason?: string }).reason === 'missing-message-authenticator')).toBe(true);
  });

  test('wrong secret gets no answer', async () => {
    const h = await start();
    await h.nas.send(request(undefined, 1, 'not-the-secret').bytes, h.port);
    await expectNoAnswer(h, 'bad-message-authenticator');
    expect(h.calls).toHaveLength(0);
  });

  test('unknown source is dropped silently (debug log only)', async () => {
    const h = await start();
    const stranger = await UdpPeer.open('127.0.0.2');
    open.push(stranger);
    await stranger.send(request().bytes, h.port);
    await waitFor(() => h.server.stats.dropped['unknown-client'] === 1);
    expect(await stranger.nextMessage(50)).toBeUndefined();
    expect(h.log.lines.filter((l) => (l.obj as { reason?: string }).reason === 'unknown-client').map((l) => l.level)).toEqual(['debug']);
  });

  test('malformed packets are dropped with a warning naming the reason', async () => {
    const h = await start();
    const bytes = request().bytes;
    await h.nas.send(bytes.subarray(0, bytes.length - 3), h.port);
    await expectNoAnswer(h, 'malformed');
    const warn = h.log.lines.find((l) => l.level === 'warn' && (l.obj as { reason?: string }).reason === 'malformed');
    expect(warn?.msg).toMatch(/truncated/);
  });

  test('a retransmission gets a byte-identical reply and the handler runs once', async () => {
    const keys = { recv: new Uint8Array(32).fill(0xa1), send: new Uint8Array(32).fill(0xb2) };
    const h = await start(async () => ({ code: 2, eapMessage: EAP_SUCCESS, mppe: keys }));
    const r = request();
    await h.nas.send(r.bytes, h.port);
    const first = await h.nas.nextMessage();
    await h.nas.send(r.bytes, h.port);
    const second = await h.nas.nextMessage();
    expect(Buffer.from(second!).equals(Buffer.from(first!))).toBe(true);
    expect(h.calls).toHaveLength(1);
    expect(h.server.stats.duplicates).toBe(1);
    const p = verifyResponse(first!, r.authenticator, SECRET);
    const got = getMppeKeys(p, SECRET, r.authenticator);
    expect(Buffer.from(got.recv!).equals(Buffer.from(keys.recv))).toBe(true);
    expect(Buffer.from(got.send!).equals(Buffer.from(keys.send))).toBe(true);
  });

  test('a duplicate while the handler is still busy is dropped; one reply in the end', async () => {
    const gate = deferred<AccessReply | null>();
    const h = await start(() => gate.promise);
    const r = request();
    await h.nas.send(r.bytes, h.port);
    await waitFor(() => h.calls.length === 1);
    await h.nas.send(r.bytes, h.port);
    await waitFor(() => h.server.stats.dropped['duplicate-in-flight'] === 1);
    gate.resolve({ code: 3, eapMessage: Uint8Array.of(4, 1, 0, 4) });
    expect(verifyResponse((await h.nas.nextMessage())!, r.authenticator, SECRET).code).toBe(3);
    expect(await h.nas.nextMessage(50)).toBeUndefined();
    expect(h.calls).toHaveLength(1);
  });

  test('same Identifier with a new Request Authenticator is a new request', async () => {
    const h = await start();
    const a = request(undefined, 9);
    const b = request(undefined, 9);
    await h.nas.send(a.bytes, h.port);
    verifyResponse((await h.nas.nextMessage())!, a.authenticator, SECRET);
    await h.nas.send(b.bytes, h.port);
    verifyResponse((await h.nas.nextMessage())!, b.authenticator, SECRET);
    expect(h.calls).toHaveLength(2);
  });

  test('same Identifier and authenticator but different content is dropped', async () => {
    const h = await start();
    const a = request([stringAttribute(1, 'nemo')], 5);
    await h.nas.send(a.bytes, h.port);
    await h.nas.nextMessage();
    const altered = buildAccessRequest({ identifier: 5, authenticator: a.authenticator, attributes: [stringAttribute(1, 'omen')], secret: SECRET });
    await h.nas.send(altered.bytes, h.port);
    await expectNoAnswer(h, 'duplicate-mismatch');
    expect(h.calls).toHaveLength(1);
  });

  test('Proxy-State is echoed in order right after the first-placed MA', async () => {
    const h = await start(async () => ({ code: 11, eapMessage: Uint8Array.of(1, 2, 0, 6, 13, 0x20), state: Uint8Array.of(1, 2, 3), attributes: [integerAttribute(27, 30)] }));
    const r = request([stringAttribute(1, 'nemo'), { type: 33, value: Uint8Array.of(1) }, integerAttribute(5, 1), { type: 33, value: Uint8Array.of(2, 2) }, { type: 33, value: Uint8Array.of(3) }]);
    await h.nas.send(r.bytes, h.port);
    const reply = (await h.nas.nextMessage())!;
    const p = verifyResponse(reply, r.authenticator, SECRET);
    expect(reply[20]).toBe(80);
    expect(p.attributes.map((a) => a.type)).toEqual([80, 33, 33, 33, 27, 79, 24]);
    expect(getAttributes(p, 33).map((v) => Buffer.from(v).toString('hex'))).toEqual(['01', '0202', '03']);
    expect(h.server.stats.challenges).toBe(1);
  });

  test('a throwing handler does not kill the server', async () => {
    let n = 0;
    const h = await start(async () => {
      n++;
      if (n === 1) throw new Error('boom');
      if (n === 2) return Promise.reject(new Error('async boom'));
      return { code: 2, eapMessage: EAP_SUCCESS };
    });
    const throwSync: AccessRequestHandler = () => {
      throw new Error('sync boom');
    };
    await h.nas.send(request(undefined, 1).bytes, h.port);
    await h.nas.send(request(undefined, 2).bytes, h.port);
    await waitFor(() => h.server.stats.handlerErrors === 2);
    const r = request(undefined, 3);
    await h.nas.send(r.bytes, h.port);
    expect(verifyResponse((await h.nas.nextMessage())!, r.authenticator, SECRET).code).toBe(2);
    // Error lines are rate-limited per client and reason; the counter still sees both.
    expect(h.log.lines.filter((l) => l.level === 'error').length).toBeGreaterThanOrEqual(1);

    const h2 = await start(throwSync);
    await h2.nas.send(request().bytes, h2.port);
    await expectNoAnswer(h2, 'handler-error');
  });

  test('handler null drops silently; a retransmission is processed again', async () => {
    let n = 0;
    const h = await start(async () => (++n === 1 ? null : { code: 2, eapMessage: EAP_SUCCESS }));
    const r = request();
    await h.nas.send(r.bytes, h.port);
    await expectNoAnswer(h, 'handler-drop');
    await h.nas.send(r.bytes, h.port);
    expect(verifyResponse((await h.nas.nextMessage())!, r.authenticator, SECRET).code).toBe(2);
    expect(h.calls).toHaveLength(2);
  });

  test('unencodable handler replies are logged and dropped', async () => {
    const h = await start(async () => ({ code: 11, mppe: { recv: new Uint8Array(32), send: new Uint8Array(32) } }));
    await h.nas.send(request().bytes, h.port);
    await expectNoAnswer(h, 'reply-error');
  });

  test('handler context: client, MA flag, PAP password', async () => {
    const h = await start();
    const r = buildAccessRequest({ identifier: 3, attributes: [stringAttribute(1, 'nemo')], userPassword: 'arctangent', secret: SECRET });
    await h.nas.send(r.bytes, h.port);
    await h.nas.nextMessage();
    const ctx = h.calls[0]!;
    expect(ctx.client).toEqual({ name: 'loopback', address: '127.0.0.1', port: h.nas.port });
    expect(ctx.messageAuthenticator).toBe(true);
    expect(Buffer.from(ctx.userPassword()!).toString()).toBe('arctangent');
    expect(ctx.packet.identifier).toBe(3);
  });

  describe('clients without required Message-Authenticator', () => {
    const legacy = (extra: Partial<RadiusClientConfig> = {}): Partial<RadiusServerOptions> => ({
      clients: [{ name: 'legacy', address: '127.0.0.0/8', secret: SECRET, requireMessageAuthenticator: false, ...extra }],
    });

    test('plain request without MA is answered', async () => {
      const h = await start(async () => ({ code: 3 }), legacy());
      const bytes = legacyRequest([stringAttribute(1, 'nemo')], 7);
      await h.nas.send(bytes, h.port);
      const reply = (await h.nas.nextMessage())!;
      expect(verifyResponse(reply, bytes.subarray(4, 20), SECRET).code).toBe(3);
      expect(h.calls[0]!.messageAuthenticator).toBe(false);
    });

    test('limitProxyState (default): Proxy-State without MA is dropped', async () => {
      const h = await start(undefined, legacy());
      await h.nas.send(legacyRequest([stringAttribute(1, 'nemo'), { type: 33, value: Uint8Array.of(1) }]), h.port);
      await expectNoAnswer(h, 'proxy-state-without-message-authenticator');
    });

    test('limitProxyState off: answered, with a BlastRADIUS warning', async () => {
      const h = await start(async () => ({ code: 3 }), legacy({ limitProxyState: false }));
      const bytes = legacyRequest([stringAttribute(1, 'nemo'), { type: 33, value: Uint8Array.of(1) }], 8);
      await h.nas.send(bytes, h.port);
      expect(verifyResponse((await h.nas.nextMessage())!, bytes.subarray(4, 20), SECRET).code).toBe(3);
      expect(h.log.lines.some((l) => l.level === 'warn' && /BlastRADIUS/.test(l.msg ?? ''))).toBe(true);
    });

    test('EAP-Message always requires MA', async () => {
      const h = await start(undefined, legacy());
      await h.nas.send(legacyRequest([stringAttribute(1, 'nemo'), { type: 79, value: Uint8Array.of(2, 0, 0, 9, 1, 110, 101, 109, 111) }]), h.port);
      await expectNoAnswer(h, 'missing-message-authenticator');
    });

    test('a present but wrong MA is still dropped', async () => {
      const h = await start(undefined, legacy());
      await h.nas.send(request(undefined, 1, 'wrong').bytes, h.port);
      await expectNoAnswer(h, 'bad-message-authenticator');
    });
  });

  test('overload: requests beyond maxInFlight are dropped, requests with State keep a reserve', async () => {
    const gate = deferred<AccessReply | null>();
    const h = await start(() => gate.promise, { maxInFlight: 8 });
    for (let id = 0; id < 7; id++) await h.nas.send(request(undefined, id).bytes, h.port);
    await waitFor(() => h.server.stats.inFlight === 7);
    await h.nas.send(request(undefined, 7).bytes, h.port);
    await waitFor(() => h.server.stats.dropped.overload === 1);
    await h.nas.send(request([stringAttribute(1, 'nemo'), { type: 24, value: Uint8Array.of(9) }], 8).bytes, h.port);
    await waitFor(() => h.server.stats.inFlight === 8);
    await h.nas.send(request([stringAttribute(1, 'nemo'), { type: 24, value: Uint8Array.of(9) }], 9).bytes, h.port);
    await waitFor(() => h.server.stats.dropped.overload === 2);
    gate.resolve({ code: 3 });
    await waitFor(() => h.server.stats.inFlight === 0);
    expect(h.server.stats.rejects).toBe(8);
  });

  test('Status-Server goes unanswered while requests are being shed, and is answered again once the hold has passed', async () => {
    let now = 1_000_000;
    const shedding = new SheddingMonitor(2000, () => now);
    const gate = deferred<AccessReply | null>();
    const h = await start(() => gate.promise, { maxInFlight: 2, shedding });
    const probe = async (id: number): Promise<boolean> => {
      const s = buildStatusServer({ identifier: id, secret: SECRET });
      await h.nas.send(s.bytes, h.port);
      const reply = await h.nas.nextMessage(300);
      if (reply) expect(verifyResponse(reply, s.authenticator, SECRET).code).toBe(RadiusCode.AccessAccept);
      return reply !== undefined;
    };
    expect(await probe(100)).toBe(true);
    // Two requests fill the server; the third is dropped for overload, which is shedding.
    for (let id = 0; id < 3; id++) await h.nas.send(request(undefined, id).bytes, h.port);
    await waitFor(() => h.server.stats.dropped.overload === 1);
    expect(await probe(101)).toBe(false);
    expect(h.server.stats.dropped['status-while-shedding']).toBe(1);
    // Another layer (the EAP session table) may say the same.
    gate.resolve({ code: 3 });
    await waitFor(() => h.server.stats.inFlight === 0);
    for (let i = 0; i < 2; i++) expect(await h.nas.nextMessage(300)).toBeDefined();
    now += 2500;
    expect(await probe(102)).toBe(true);
    shedding.note('eap-evicted');
    expect(await probe(103)).toBe(false);
    now += 2500;
    expect(await probe(104)).toBe(true);
    expect(shedding.snapshot()).toMatchObject({ events: 2, reasons: { 'radius-overload': 1, 'eap-evicted': 1 } });
  });

  test('a handler that never answers is abandoned after handlerTimeoutMs', async () => {
    const h = await start(() => new Promise<never>(() => undefined), { handlerTimeoutMs: 50 });
    await h.nas.send(request().bytes, h.port);
    await expectNoAnswer(h, 'handler-timeout');
    expect(h.server.stats.inFlight).toBe(0);
  });

  test('Accounting-Request on this port is dropped', async () => {
    const h = await start();
    await h.nas.send(buildAccountingStyleRequest({ code: 4, identifier: 1, attributes: [integerAttribute(40, 1)], secret: SECRET }).bytes, h.port);
    await expectNoAnswer(h, 'accounting-not-served');
  });

  test('replies to unexpected codes are never sent', async () => {
    const h = await start();
    await h.nas.send(encodePacket({ code: 2, identifier: 1, authenticator: new Uint8Array(16), attributes: [] }), h.port);
    await expectNoAnswer(h, 'unexpected-code');
  });

  test('IPv6 listener', async () => {
    const log = new MemoryLog();
    const server = new RadiusServer({ clients: [{ name: 'v6', address: '::1/128', secret: SECRET }], log, handler: async () => ({ code: 2 }) });
    open.push(server);
    const { host, port } = await server.listen('::1', 0);
    expect(host).toBe('::1');
    const nas = await UdpPeer.open('::1');
    open.push(nas);
    const s = buildStatusServer({ identifier: 1, secret: SECRET });
    await nas.send(s.bytes, port, '::1');
    expect(verifyResponse((await nas.nextMessage())!, s.authenticator, SECRET).code).toBe(2);
  });

  test('the shared secret and passwords never reach the log', async () => {
    const h = await start();
    await h.nas.send(buildAccessRequest({ identifier: 1, attributes: [stringAttribute(1, 'nemo')], userPassword: 'hunter2', secret: SECRET }).bytes, h.port);
    await h.nas.nextMessage();
    await h.nas.send(request(undefined, 2, 'wrong').bytes, h.port);
    await h.nas.send(legacyRequest([]), h.port);
    await waitFor(() => h.server.stats.dropped['bad-message-authenticator'] + h.server.stats.dropped['missing-message-authenticator'] === 2);
    const text = JSON.stringify(h.log.lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('hunter2');
  });

  test('after close nothing is answered and listen is refused', async () => {
    const h = await start();
    await h.server.close();
    await expect(h.server.listen('127.0.0.1', 0)).rejects.toThrow();
    await h.nas.send(buildStatusServer({ identifier: 1, secret: SECRET }).bytes, h.port);
    expect(await h.nas.nextMessage(100)).toBeUndefined();
  });

  test('garbage and corrupted packets from a known client never crash the server or get answers', async () => {
    const h = await start();
    const valid = request([stringAttribute(1, 'nemo'), { type: 79, value: Uint8Array.of(2, 0, 0, 4) }]).bytes;
    const samples = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
          const b = valid.slice();
          b[at % b.length] = b[at % b.length] === byte ? byte ^ 1 : byte;
          return b;
        }),
      ),
      { numRuns: 200, seed: 5080 },
    );
    for (const bytes of samples) await h.nas.send(bytes, h.port);
    await waitFor(() => h.server.stats.received === samples.length);
    expect(await h.nas.nextMessage(50)).toBeUndefined();
    expect(h.calls).toHaveLength(0);
    const s = buildStatusServer({ identifier: 1, secret: SECRET });
    await h.nas.send(s.bytes, h.port);
    expect(verifyResponse((await h.nas.nextMessage())!, s.authenticator, SECRET).code).toBe(2);
    expect(h.server.stats.dropped['internal-error']).toBe(0);
  });

  test('MA on every reply kind verifies with the request authenticator', async () => {
    const codes: Array<2 | 3 | 11> = [2, 3, 11];
    let i = 0;
    const h = await start(async () => ({ code: codes[i++ % 3]! }));
    for (let id = 0; id < 3; id++) {
      const r = request(undefined, id);
      await h.nas.send(r.bytes, h.port);
      const reply = (await h.nas.nextMessage())!;
      expect(decodePacket(reply).attributes[0]!.type).toBe(80);
      expect(checkMessageAuthenticator(reply, SECRET, r.authenticator)).toBe('valid');
    }
    expect([h.server.stats.accepts, h.server.stats.rejects, h.server.stats.challenges]).toEqual([1, 1, 1]);
  });
});

describe('RadiusServer observer (what the metrics hear)', () => {
  test('requests by client name and Code, decided answers with their latency, replays, Status-Server, drops', async () => {
    const heard: unknown[][] = [];
    const observer: RadiusObserver<DropReason> = {
      request: (client, code) => heard.push(['request', client, code]),
      answered: (client, code, ms) => heard.push(['answered', client, code, ms]),
      replayed: (client) => heard.push(['replayed', client]),
      statusServerAnswered: (client) => heard.push(['status', client]),
      dropped: (reason) => heard.push(['dropped', reason]),
    };
    const h = await start(async () => {
      await new Promise((resolve) => setTimeout(resolve, 40));
      return { code: 3 };
    }, { observer });
    const r = request(undefined, 7);
    await h.nas.send(r.bytes, h.port);
    await h.nas.nextMessage();
    await h.nas.send(r.bytes, h.port);
    await h.nas.nextMessage();
    const s = buildStatusServer({ identifier: 8, secret: SECRET });
    await h.nas.send(s.bytes, h.port);
    await h.nas.nextMessage();
    await h.nas.send(buildAccountingStyleRequest({ code: 4, identifier: 9, attributes: [], secret: SECRET }).bytes, h.port);
    await waitFor(() => heard.length === 8);
    const answered = heard[1]!;
    // From the datagram's arrival: at least the handler's 40 ms.
    expect(answered.slice(0, 3)).toEqual(['answered', 'loopback', 3]);
    expect(answered[3]).toBeGreaterThanOrEqual(35);
    expect(heard).toEqual([
      ['request', 'loopback', 1],
      answered,
      ['request', 'loopback', 1],
      ['replayed', 'loopback'],
      ['request', 'loopback', 12],
      ['status', 'loopback'],
      ['request', 'loopback', 4],
      ['dropped', 'accounting-not-served'],
    ]);
  });
});
