/** EAP-MSCHAPv2 over UDP RADIUS from a test NAS, for tests of the whole server. */
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { MschapV2Peer } from '../../src/eap-methods/mschapv2/peer.js';
import { decodeMschapV2, MschapV2OpCode } from '../../src/eap-methods/mschapv2/packet.js';
import { AttributeType, RadiusCode, getAttribute, joinEapMessage } from '../../src/radius/index.js';
import type { UdpNas } from './udp-nas.js';

export interface MschapOutcome {
  code: number;
  /** The Failure-Request's message with its random challenge blanked, or 'success'. */
  answer: string;
}

/** One bare EAP-MSCHAPv2 conversation from `nas`. */
export async function mschapv2(nas: UdpNas, user: string, password: string, station: string): Promise<MschapOutcome> {
  const who = { userName: user, callingStationId: station };
  let r = await nas.send(who, encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: Buffer.from(user) }), undefined);
  const peer = new MschapV2Peer({ username: user, password });
  for (let round = 0; round < 6; round++) {
    if (r.reply.code !== RadiusCode.AccessChallenge) return { code: r.reply.code, answer: 'none' };
    const req = decodeEap(joinEapMessage(r.reply)!);
    if (req.code !== 1 || req.type !== EapType.MsChapV2) throw new Error(`unexpected EAP ${req.code}/${req.code === 1 ? req.type : ''}`);
    const msg = decodeMschapV2(req.data, 'server');
    const step = peer.process(req.data);
    const state = getAttribute(r.reply, AttributeType.State);
    const next = await nas.send(who, encodeEap({ code: 2, identifier: req.identifier, type: EapType.MsChapV2, data: step.response }), state);
    if (msg.opCode === MschapV2OpCode.Failure) {
      const text = 'message' in msg ? String(msg.message) : '';
      return { code: next.reply.code, answer: text.replace(/C=[0-9A-F]{32}/, 'C=…') };
    }
    if (step.kind === 'success') return { code: next.reply.code, answer: 'success' };
    r = next;
  }
  throw new Error('too many rounds');
}
