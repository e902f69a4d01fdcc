import { DEFAULT_EAP_LIMITS, EapAuthenticator, type EapOutcome } from '../../src/eap-methods/authenticator.js';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import type { EapMethod, EapMethodSession, Step } from '../../src/eap-methods/method.js';
import { MethodSelector } from '../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../src/eap-methods/registry.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** Succeeds after two echo rounds. */
function echoMethod(disposed: string[]): EapMethod {
  return {
    type: 200,
    name: 'echo',
    createSession(ctx): EapMethodSession {
      let n = 0;
      return {
        start: async (): Promise<Step> => ({ kind: 'request', data: Uint8Array.of(n) }),
        step: async (): Promise<Step> => {
          n++;
          if (n >= 2) return { kind: 'success', msk: new Uint8Array(64).fill(n), grant: { identity: ctx.identity, method: 'echo' } };
          return { kind: 'request', data: Uint8Array.of(n) };
        },
        dispose: () => { disposed.push(ctx.conversationId); },
      };
    },
  };
}

const identity = (id: number, name: string): Uint8Array => encodeEap({ code: 2, identifier: id, type: EapType.Identity, data: Buffer.from(name) });
const response = (id: number, data: number[]): Uint8Array => encodeEap({ code: 2, identifier: id, type: 200, data: Uint8Array.from(data) });
const idOf = (o: EapOutcome): number => {
  if (o.kind !== 'challenge') throw new Error(`expected a challenge, got ${o.kind}`);
  return decodeEap(o.eap).identifier;
};

/**
 * Review of issue 7.3/8: one RADIUS client entry may be a prefix covering many access points that
 * share a secret (conversation-binding.ts says so, and binds the source address for that reason).
 * Station replacement keys on the client entry and Calling-Station-Id only.
 */
describe('review: station replacement across access points of one client entry', () => {
  // FAILS at 915639d: a sibling AP (same client entry, other source address) that claims the victim's
  // Calling-Station-Id ends the victim's conversation on the real AP (a targeted denial of service the
  // binding was meant to rule out between APs).
  test('another source address under the same client entry cannot end a conversation by naming its station', async () => {
    const disposed: string[] = [];
    const registry = new MethodRegistry();
    registry.register(echoMethod(disposed));
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['echo']), DEFAULT_EAP_LIMITS, new MemoryLog());
    const victimNas = { clientName: 'campus-aps', clientAddress: '10.0.0.1', callingStationId: '02-00-00-00-00-01' };
    const hostileNas = { clientName: 'campus-aps', clientAddress: '10.0.0.2', callingStationId: '02-00-00-00-00-01' };
    const first = await eap.handle({ eap: identity(1, 'alice'), nas: victimNas });
    await eap.handle({ eap: identity(7, 'mallory'), nas: hostileNas });
    const next = await eap.handle({ eap: response(idOf(first), [1]), state: (first as { state: Uint8Array }).state, nas: victimNas });
    expect(disposed).toHaveLength(0);
    expect(next.kind).not.toBe('reject');
    eap.close();
  });
});
