/**
 * Bounded Proxy-State echo and lenient NAS attributes (issue 8.6), through the whole server over
 * UDP. Proxy-States that leave less than MIN_REPLY_ROOM are dropped before any conversation moves;
 * fewer shrink the EAP fragments so that every reply fits in 4096 octets; a conversation whose
 * packets would no longer fit is not advanced. A Framed-MTU that is not 4 octets is ignored.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { decodeEap, encodeEap } from '../../src/eap-methods/eap-packet.js';
import { EapTlsPeer } from '../../src/peer/eap-tls/eap-tls-peer.js';
import {
  AttributeType, MIN_REPLY_ROOM, RadiusCode, buildAccessRequest, getAttribute, getAttributes, joinEapMessage, splitEapMessage, stringAttribute,
  verifyResponse, type RadiusAttribute, type RadiusPacket,
} from '../../src/radius/index.js';
import { eapInputFrom, eapRoom } from '../../src/server/radius-eap-bridge.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { MemoryLog } from '../helpers/silent-log.js';

const proxyStates = (n: number, size: number): RadiusAttribute[] =>
  Array.from({ length: n }, (_, i) => ({ type: AttributeType.ProxyState, value: new Uint8Array(size).fill(0x41 + (i % 26)) }));

describe('Proxy-State echo and NAS attributes', () => {
  let g: TestGangway;
  let sock: Socket;
  let radiusId = 0;

  beforeAll(async () => {
    g = await startTestGangway();
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    sock.close();
    await g.close();
  });

  /** One Access-Request; resolves to the verified reply and its size, or undefined after `waitMs` of silence. */
  function send(attributes: RadiusAttribute[], waitMs = 1500): Promise<{ reply: RadiusPacket; size: number } | undefined> {
    const request = buildAccessRequest({ identifier: radiusId++ & 0xff, attributes, secret: g.secret });
    return new Promise((resolve) => {
      const onMessage = (msg: Buffer): void => {
        clearTimeout(timer);
        resolve({ reply: verifyResponse(new Uint8Array(msg), request.authenticator, g.secret), size: msg.length });
      };
      const timer = setTimeout(() => {
        sock.off('message', onMessage);
        resolve(undefined);
      }, waitMs);
      sock.once('message', onMessage);
      sock.send(request.bytes, g.port, '127.0.0.1');
    });
  }

  /**
   * A whole EAP-TLS conversation; `extra(round)` adds attributes to the request of that round.
   * `onRound` may send something else first (and must leave the conversation where it was).
   */
  async function eapTls(extra: (round: number) => RadiusAttribute[], onRound?: (round: number, eap: Uint8Array, state: Uint8Array) => Promise<void>) {
    const peer = new EapTlsPeer({
      cert: readFileSync(g.init.files.clientCert), key: readFileSync(g.init.files.clientKey), ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example',
    }, 800); // small Responses, so that the Access-Requests with Proxy-States fit in 4096 octets themselves
    let eap = encodeEap({ code: 2, identifier: 0, type: 1, data: Buffer.from('demo-client') });
    let state: Uint8Array | undefined;
    const sizes: number[] = [];
    const eapLengths: number[] = [];
    try {
      for (let round = 0; round < 40; round++) {
        if (state && onRound) await onRound(round, eap, state);
        const attributes: RadiusAttribute[] = [stringAttribute(AttributeType.UserName, 'demo-client'), ...splitEapMessage(eap), ...extra(round)];
        if (state) attributes.push({ type: AttributeType.State, value: state });
        const r = await send(attributes);
        if (!r) throw new Error(`no reply in round ${round}`);
        sizes.push(r.size);
        const eapIn = joinEapMessage(r.reply);
        if (eapIn) eapLengths.push(eapIn.length);
        if (r.reply.code !== RadiusCode.AccessChallenge) return { code: r.reply.code, sizes, eapLengths, echoed: getAttributes(r.reply, AttributeType.ProxyState).length };
        state = getAttribute(r.reply, AttributeType.State)!;
        const req = decodeEap(eapIn!);
        if (req.code !== 1) throw new Error('expected an EAP-Request');
        eap = encodeEap({ code: 2, identifier: req.identifier, type: 13, data: req.type === 13 ? await peer.respond(req.data) : new Uint8Array(0) });
      }
      throw new Error('conversation does not end');
    } finally {
      peer.dispose();
    }
  }

  test('14 Proxy-States of 253 octets (the reply would exceed 4096): dropped before the handler runs', async () => {
    const before = g.running.admission().conversations;
    const r = await send([stringAttribute(AttributeType.UserName, 'demo-client'), ...splitEapMessage(encodeEap({ code: 2, identifier: 0, type: 1, data: Buffer.from('demo-client') })), ...proxyStates(14, 253)]);
    expect(r).toBeUndefined();
    expect(g.running.admission().conversations).toBe(before);
    expect(g.log.lines.some((l) => l.msg === 'Access-Request whose Proxy-States leave no room for a reply dropped')).toBe(true);
  });

  test('12 Proxy-States of 250 octets on every request: EAP fragments shrink, every reply fits, the conversation succeeds', async () => {
    const extra = proxyStates(12, 250);
    const room = 4096 - 20 - 18 - 12 * 252;
    expect(room).toBeGreaterThanOrEqual(MIN_REPLY_ROOM);
    const r = await eapTls(() => extra);
    expect(r.code).toBe(RadiusCode.AccessAccept);
    expect(r.echoed).toBe(12);
    expect(Math.max(...r.sizes)).toBeLessThanOrEqual(4096);
    expect(Math.max(...r.eapLengths)).toBeLessThanOrEqual(eapRoom(room));
    expect(Math.max(...r.eapLengths)).toBeGreaterThan(900);
  });

  test('Proxy-States that appear mid-conversation and leave too little room: that request is dropped, the conversation carries on', async () => {
    let tried = 0;
    const r = await eapTls(() => [], async (round, eap, state) => {
      if (round !== 2) return;
      // Same EAP and State, but with Proxy-States whose reply could not carry this conversation's 1020-octet packets.
      const attrs = [stringAttribute(AttributeType.UserName, 'demo-client'), ...splitEapMessage(eap), { type: AttributeType.State, value: state }, ...proxyStates(12, 250)];
      expect(await send(attrs, 800)).toBeUndefined();
      tried++;
    });
    expect(tried).toBe(1);
    expect(r.code).toBe(RadiusCode.AccessAccept);
    expect(g.log.lines.some((l) => l.msg === 'Access-Request dropped' || (l.level === 'debug' && String((l.obj as { reason?: string }).reason).includes('the reply has room for')))).toBe(true);
  });

  test.each([[2], [6], [0]])('a Framed-MTU of %i octets is ignored (debug line), never an exception', async (octets) => {
    const eap = encodeEap({ code: 2, identifier: 0, type: 1, data: Buffer.from('demo-client') });
    const packet: RadiusPacket = {
      code: RadiusCode.AccessRequest, identifier: 1, authenticator: new Uint8Array(16),
      attributes: [...splitEapMessage(eap), { type: AttributeType.FramedMtu, value: new Uint8Array(octets).fill(5) }],
    };
    const log = new MemoryLog();
    const input = eapInputFrom(packet, { name: 'nas', address: '127.0.0.1' }, log);
    expect(input?.framedMtu).toBeUndefined();
    expect(log.lines).toEqual([expect.objectContaining({ level: 'debug', msg: 'Framed-MTU that is not 4 octets ignored', obj: expect.objectContaining({ octets }) })]);
    // And over UDP the conversation starts.
    const r = await send([stringAttribute(AttributeType.UserName, 'demo-client'), ...splitEapMessage(eap), { type: AttributeType.FramedMtu, value: new Uint8Array(octets).fill(5) }]);
    expect(r?.reply.code).toBe(RadiusCode.AccessChallenge);
  });
});
