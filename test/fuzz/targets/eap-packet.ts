import { EapAuthenticator, DEFAULT_EAP_LIMITS, type EapOutcome } from '../../../src/eap-methods/authenticator.js';
import { decodeEap, EapType } from '../../../src/eap-methods/eap-packet.js';
import { describeEap } from '../../../src/eap-methods/eap-summary.js';
import { EapProtocolError } from '../../../src/eap-methods/errors.js';
import { MethodSelector } from '../../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../../src/eap-methods/registry.js';
import { createEapTlsMethod } from '../../../src/eap-methods/eap-tls/method.js';
import { createMschapV2Method } from '../../../src/eap-methods/mschapv2/method.js';
import { decodeMschapV2, MschapV2PacketError, parseFailureMessage, parseSuccessMessage } from '../../../src/eap-methods/mschapv2/packet.js';
import { decodeTlsFragment } from '../../../src/eap-methods/tls-fragmentation.js';
import { generateDemoPki } from '../../../src/pki/demo-pki.js';
import { decodeTeapPacket } from '../../../src/teap-brski/teap/outer-framing.js';
import { TeapFramingError } from '../../../src/teap-brski/teap/errors.js';
import { CHUNK_LAYOUT, joinChunks, splitChunks } from '../engine/chunks.js';
import { invariant, type FuzzTarget } from '../engine/target.js';
import { ErrorTrap } from './error-trap.js';
import { tolerate } from './tolerate.js';
import { FuzzUsers, neverLocks } from './users.js';

const expected = (err: unknown): boolean => err instanceof EapProtocolError || err instanceof MschapV2PacketError || err instanceof TeapFramingError;

/** Control octet of each chunk: bit 0 continues the last conversation (its State), bit 1 takes the Identifier it expects. */
const WITH_STATE = 1;
const FIX_IDENTIFIER = 2;

/**
 * EAP packets as the EAP core receives them from the RADIUS bridge. Each chunk is a control octet
 * and one EAP packet: the codec and the per-type decoders (Type-Data of EAP-TLS, TEAP,
 * EAP-MSCHAPv2) run on it, then the `EapAuthenticator` — Identity, Nak, Identifier checks, round
 * limits, methods EAP-MSCHAPv2 and EAP-TLS (the native TLS engine gets whatever TLS data arrives).
 * Invariants: `handle` never throws and logs no method fault (the core turns a throwing method into
 * a logged error and a reject, which would hide the crash), every outcome is one of the four kinds
 * with well-formed EAP, and nothing is accepted (no input can know the password's NT-Response for a
 * random challenge or hold a client certificate).
 */
export const eapPacket: FuzzTarget = {
  name: 'eap-packet',
  description: 'EAP codec, per-type Type-Data decoders, and the EAP authenticator (Identity, Nak, MSCHAPv2, EAP-TLS)',
  maxLength: 6000,
  expected,
  hints: { tlv: [CHUNK_LAYOUT], dictionary: [Uint8Array.of(2, 1), Uint8Array.of(1), Uint8Array.of(3, 13), Uint8Array.of(3, 26), Uint8Array.of(13, 0x80), Uint8Array.of(26, 2)] },
  async setup() {
    const pki = await generateDemoPki('radius.fuzz.example', 'fuzz-client');
    const users = await FuzzUsers.with({ alice: 'password' });
    const registry = new MethodRegistry();
    registry.register(createMschapV2Method({ users, lockout: neverLocks() }));
    registry.register(createEapTlsMethod({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem }));
    const selector = new MethodSelector([{ realm: 'tls.example', methods: ['eap-tls', 'eap-mschapv2'] }], ['eap-mschapv2', 'eap-tls']);
    const trap = new ErrorTrap();
    return async (data) => {
      const eap = new EapAuthenticator(registry, selector, { ...DEFAULT_EAP_LIMITS, maxRounds: 20 }, trap);
      try {
        let last: Extract<EapOutcome, { kind: 'challenge' }> | undefined;
        for (const chunk of splitChunks(data, 24)) {
          const control = chunk[0] ?? 0;
          const packet = new Uint8Array(chunk.subarray(1));
          if (control & FIX_IDENTIFIER && last && packet.length >= 2) packet[1] = last.eap[1]!;
          decodeTypeData(packet);
          const out = await eap.handle({ eap: packet, ...(control & WITH_STATE && last ? { state: last.state } : {}), nas: { clientName: 'fuzz', clientAddress: '127.0.0.1' } });
          invariant(out.kind !== 'accept', `accepted ${out.kind === 'accept' ? out.identity : ''} without credentials`);
          invariant(['challenge', 'reject', 'drop'].includes(out.kind), `unknown outcome ${(out as { kind: string }).kind}`);
          if (out.kind !== 'drop') {
            const p = decodeEap(out.eap);
            invariant(out.kind === 'challenge' ? p.code === 1 : p.code === 4, `${out.kind} carries EAP code ${p.code}`);
          }
          trap.check();
          if (out.kind === 'challenge') last = out;
        }
      } finally {
        eap.close();
      }
    };
  },
};

/** The decoders a packet of its type meets on the way in; each may refuse with its typed error. */
function decodeTypeData(packet: Uint8Array): void {
  describeEap(packet);
  const p = tolerate(expected, () => decodeEap(packet));
  if (!p || (p.code !== 1 && p.code !== 2)) return;
  switch (p.type) {
    case EapType.Tls:
      tolerate(expected, () => decodeTlsFragment(p.data));
      return;
    case EapType.Teap:
      tolerate(expected, () => decodeTeapPacket(p.data));
      return;
    case EapType.MsChapV2:
      for (const sender of ['peer', 'server'] as const) {
        const m = tolerate(expected, () => decodeMschapV2(p.data, sender));
        if (m && 'message' in m && typeof m.message === 'string') {
          parseSuccessMessage(m.message);
          tolerate(expected, () => parseFailureMessage(m.message));
        }
      }
      return;
    default:
  }
}

eapPacket.makeSeeds = async () => {
  const { hex, readJsonFixture, utf8 } = await import('./fixtures.js');
  const { encodeEap } = await import('../../../src/eap-methods/eap-packet.js');
  const v = readJsonFixture<Record<string, Record<string, unknown>>>('test', 'radius', 'fixtures', 'radius-vectors.json');
  const packets = v.eap_packets as Record<string, string>;
  const flows = v.mschapv2_failure_flows_captured as Record<string, Record<string, string>>;
  const live = v.mschapv2_live_freeradius_wpa_supplicant as Record<string, string>;
  const identity = (name: string): Uint8Array => encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: utf8(name) });
  const c = (control: number, packet: Uint8Array): Uint8Array => Uint8Array.of(control, ...packet);
  const seeds = Object.entries(packets).map(([name, h]) => ({ name: `vector-${name}`, data: joinChunks([c(0, hex(h))]), comment: `../shared/specs/radius-vectors.json eap_packets.${name}` }));
  seeds.push({
    name: 'mschapv2-identity-then-response',
    data: joinChunks([c(0, identity('alice')), c(3, hex(live.eap_response!))]),
    comment: 'Identity alice, then the captured wpa_supplicant MSCHAPv2 Response (radius-vectors.json mschapv2_live_freeradius_wpa_supplicant) in that conversation',
  });
  seeds.push({
    name: 'mschapv2-wrong-password-flow',
    data: joinChunks([c(0, identity('bob')), c(3, hex(flows['hostapd_2.10']!.response_wrong_password!)), c(3, encodeEap({ code: 2, identifier: 0, type: 26, data: Uint8Array.of(4) }))]),
    comment: 'Identity, the captured hostapd 2.10 wrong-password Response, then a Failure acknowledgement',
  });
  seeds.push({
    name: 'nak-to-tls',
    data: joinChunks([c(0, identity('alice')), c(3, hex(packets.legacy_nak_prefer_tls!)), c(3, encodeEap({ code: 2, identifier: 0, type: 13, data: Uint8Array.of(0x80, 0, 0, 0, 4, 0x16, 3, 1, 0) }))]),
    comment: 'Identity, Nak proposing EAP-TLS, then a truncated TLS record with the L flag',
  });
  seeds.push({
    name: 'tls-realm-client-hello-fragment',
    data: joinChunks([c(0, identity('dev@tls.example')), c(3, encodeEap({ code: 2, identifier: 0, type: 13, data: Uint8Array.of(0xc0, 0, 0, 0x10, 0, 0x16, 3, 1, 0, 0x50, 1, 0, 0, 0x4c, 3, 3) })), c(3, hex(packets.eap_tls_ack_response!))]),
    comment: 'EAP-TLS by realm, a first fragment (L+M) announcing 4096 octets, then an ACK in its place',
  });
  return seeds;
};
