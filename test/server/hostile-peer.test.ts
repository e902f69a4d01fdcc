/**
 * A hostile peer against the whole server: after a proper Identity, every Response carries junk of
 * the method's own type, so it reaches the method's parser and state machine (EAP-TLS, TEAP and
 * EAP-NOOB). Each junk packet must end in a Challenge (re-sent Request), an Access-Reject, or
 * silence — never a crash, never an Accept — and the server must keep serving afterwards.
 */
import fc from 'fast-check';
import {
  AttributeType, RadiusClient, RadiusClientError, RadiusCode, getAttribute, joinEapMessage, splitEapMessage, stringAttribute,
  type RadiusPacket,
} from '../../src/radius/index.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';

const IDENTITIES: Record<number, string> = {
  13: 'device@tls.test',
  55: 'anonymous@teap.test',
  56: '@noob.eap.arpa',
};

describe('hostile peer: junk of the method\'s own type after Identity', () => {
  let g: TestGangway;
  let client: RadiusClient;

  beforeAll(async () => {
    g = await startTestGangway({
      configure: (doc) => {
        doc.eap = { defaultMethods: ['eap-tls'], rules: [{ realm: 'teap.test', methods: ['teap'] }, { realm: 'tls.test', methods: ['eap-tls'] }] };
      },
    });
    client = new RadiusClient({ host: '127.0.0.1', port: g.port, secret: g.secret, initialTimeoutMs: 300, maxRetransmissions: 0 });
  });

  afterAll(async () => {
    await client.close();
    await g.close();
  });

  async function send(eap: Uint8Array, state?: Uint8Array): Promise<RadiusPacket | undefined> {
    try {
      const r = await client.send({
        attributes: [
          stringAttribute(AttributeType.UserName, 'hostile'),
          stringAttribute(AttributeType.CallingStationId, `02-00-00-00-00-${Math.floor(Math.random() * 256).toString(16).padStart(2, '0')}`),
          ...splitEapMessage(eap),
          ...(state ? [{ type: AttributeType.State, value: state }] : []),
        ],
      });
      return r.packet;
    } catch (err) {
      if (err instanceof RadiusClientError && err.code === 'timeout') return undefined;
      throw err;
    }
  }

  test.each([13, 55, 56])('EAP type %i', async (type) => {
    const identity = Buffer.from(IDENTITIES[type]!);
    const outcomes = { challenge: 0, reject: 0, silence: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 1200 }), { minLength: 1, maxLength: 4 }), async (junks) => {
        const first = await send(Uint8Array.from([2, 1, 0, 5 + identity.length, 1, ...identity]));
        expect(first?.code).toBe(RadiusCode.AccessChallenge);
        const request = joinEapMessage(first!)!;
        expect(request[4]).toBe(type);
        const state = getAttribute(first!, AttributeType.State)!;
        let id = request[1]!;
        for (const junk of junks) {
          const eap = Uint8Array.from([2, id, (junk.length + 5) >> 8, (junk.length + 5) & 0xff, type, ...junk]);
          const reply = await send(eap, state);
          if (!reply) {
            outcomes.silence++;
            continue;
          }
          expect([RadiusCode.AccessChallenge, RadiusCode.AccessReject]).toContain(reply.code);
          if (reply.code === RadiusCode.AccessReject) {
            outcomes.reject++;
            break;
          }
          outcomes.challenge++;
          id = joinEapMessage(reply)![1]!;
        }
      }),
      { numRuns: 25 },
    );
    // Still serving: a fresh, well-formed conversation starts as usual.
    const again = await send(Uint8Array.from([2, 1, 0, 5 + identity.length, 1, ...identity]));
    expect(again?.code).toBe(RadiusCode.AccessChallenge);
    expect(outcomes.reject + outcomes.challenge + outcomes.silence).toBeGreaterThan(0);
    // Conversations never pile up: rejected ones are gone, the rest are bounded by what we started.
    expect(g.running.admission().conversations).toBeLessThanOrEqual(26 * 3);
  }, 120_000);
});
