/**
 * EAP-MSCHAPv2 Type-Data (draft-kamath-pppext-eap-mschapv2 framing, as hostapd 2.10 and
 * FreeRADIUS 3.2 implement it):
 *
 *   OpCode(1) MS-CHAPv2-ID(1) MS-Length(2) data...     MS-Length = Type-Data length (EAP Length - 5)
 *
 * except that the peer's Success and Failure Responses are the OpCode alone.
 */

export const MschapV2OpCode = {
  Challenge: 1,
  Response: 2,
  Success: 3,
  Failure: 4,
  ChangePassword: 7,
} as const;

export class MschapV2PacketError extends Error {
  override readonly name = 'MschapV2PacketError';
}

export const CHALLENGE_LENGTH = 16;
/** Value-Size of a Response: Peer-Challenge(16) Reserved(8) NT-Response(24) Flags(1). */
export const RESPONSE_VALUE_SIZE = 49;

export type MschapV2Packet =
  | { opCode: 1; msChapId: number; challenge: Uint8Array; name: Uint8Array }
  | { opCode: 2; msChapId: number; peerChallenge: Uint8Array; ntResponse: Uint8Array; flags: number; name: Uint8Array }
  /** Server's Success-Request ("S=<40 hex> M=<msg>") or Failure-Request ("E=... R=... C=... V=... M=..."). */
  | { opCode: 3 | 4; msChapId: number; message: string }
  /** Peer's Success-Response / Failure-Response (OpCode only). */
  | { opCode: 3 | 4; ack: true }
  | { opCode: 7; msChapId: number; data: Uint8Array };

function header(opCode: number, msChapId: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = opCode;
  out[1] = msChapId & 0xff;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  out.set(body, 4);
  return out;
}

export function encodeMschapV2(p: MschapV2Packet): Uint8Array {
  if ('ack' in p) return Uint8Array.of(p.opCode);
  switch (p.opCode) {
    case 1: {
      if (p.challenge.length !== CHALLENGE_LENGTH) throw new MschapV2PacketError('challenge must be 16 octets');
      const body = new Uint8Array(1 + CHALLENGE_LENGTH + p.name.length);
      body[0] = CHALLENGE_LENGTH;
      body.set(p.challenge, 1);
      body.set(p.name, 1 + CHALLENGE_LENGTH);
      return header(1, p.msChapId, body);
    }
    case 2: {
      if (p.peerChallenge.length !== 16 || p.ntResponse.length !== 24) throw new MschapV2PacketError('bad Response field sizes');
      const body = new Uint8Array(1 + RESPONSE_VALUE_SIZE + p.name.length);
      body[0] = RESPONSE_VALUE_SIZE;
      body.set(p.peerChallenge, 1);
      // 8 reserved zero octets at 17..24
      body.set(p.ntResponse, 25);
      body[49] = p.flags;
      body.set(p.name, 50);
      return header(2, p.msChapId, body);
    }
    case 3:
    case 4:
      return header(p.opCode, p.msChapId, new Uint8Array(Buffer.from(p.message, 'utf8')));
    case 7:
      return header(7, p.msChapId, p.data);
  }
}

/** Parses a Type-Data; `role` says which side sent it (Success/Failure differ by direction). */
export function decodeMschapV2(typeData: Uint8Array, sender: 'server' | 'peer'): MschapV2Packet {
  if (typeData.length < 1) throw new MschapV2PacketError('empty EAP-MSCHAPv2 packet');
  const opCode = typeData[0]!;
  if (sender === 'peer' && (opCode === 3 || opCode === 4) && typeData.length === 1) {
    return { opCode, ack: true };
  }
  if (typeData.length < 4) throw new MschapV2PacketError(`EAP-MSCHAPv2 OpCode ${opCode} packet of ${typeData.length} octets is truncated`);
  const msChapId = typeData[1]!;
  const msLength = (typeData[2]! << 8) | typeData[3]!;
  // MS-Length should equal the Type-Data length; peers in the wild are consistent, so a mismatch is junk.
  if (msLength !== typeData.length) throw new MschapV2PacketError(`MS-Length ${msLength} does not match the ${typeData.length} octets received`);
  const body = typeData.subarray(4);
  switch (opCode) {
    case 1: {
      if (body.length < 1 + CHALLENGE_LENGTH || body[0] !== CHALLENGE_LENGTH) throw new MschapV2PacketError('Challenge Value-Size is not 16');
      return { opCode: 1, msChapId, challenge: body.slice(1, 17), name: body.slice(17) };
    }
    case 2: {
      if (body.length < 1 + RESPONSE_VALUE_SIZE || body[0] !== RESPONSE_VALUE_SIZE) throw new MschapV2PacketError('Response Value-Size is not 49');
      return {
        opCode: 2,
        msChapId,
        peerChallenge: body.slice(1, 17),
        ntResponse: body.slice(25, 49),
        flags: body[49]!,
        name: body.slice(50),
      };
    }
    case 3:
    case 4:
      return { opCode, msChapId, message: Buffer.from(body).toString('utf8') };
    case 7:
      return { opCode: 7, msChapId, data: body.slice() };
    default:
      throw new MschapV2PacketError(`unknown EAP-MSCHAPv2 OpCode ${opCode}`);
  }
}

/** The "S=<40 hex>" authenticator response out of a Success-Request message ("S=... M=..."). */
export function parseSuccessMessage(message: string): { authenticatorResponse: string; text?: string } | undefined {
  const m = /^(S=[0-9A-Fa-f]{40})(?: M=(.*))?$/s.exec(message);
  if (!m) return undefined;
  return m[2] !== undefined ? { authenticatorResponse: m[1]!, text: m[2] } : { authenticatorResponse: m[1]! };
}

/** Failure-Request fields (RFC 2759 §6): "E=eeeeeeeeee R=r C=cccc... V=vvvvvvvvvv M=<msg>". */
export function parseFailureMessage(message: string): { error: number; retry: boolean; text?: string } {
  const e = /E=(\d+)/.exec(message);
  const r = /R=([01])/.exec(message);
  const t = / M=(.*)$/s.exec(message);
  return { error: e ? Number(e[1]) : 0, retry: r?.[1] === '1', ...(t ? { text: t[1]! } : {}) };
}
