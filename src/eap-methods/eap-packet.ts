import { EapProtocolError } from './errors.js';

/** RFC 3748 §4 codes. */
export const EapCode = { Request: 1, Response: 2, Success: 3, Failure: 4 } as const;
export type EapCodeValue = (typeof EapCode)[keyof typeof EapCode];

/** Method types this server meets (RFC 3748 §5, IANA EAP registry). */
export const EapType = {
  Identity: 1,
  Notification: 2,
  Nak: 3,
  Md5Challenge: 4,
  Tls: 13,
  Ttls: 21,
  Peap: 25,
  MsChapV2: 26,
  Fast: 43,
  Teap: 55,
  Noob: 56,
  Expanded: 254,
} as const;

export interface EapRequest { code: 1; identifier: number; type: number; data: Uint8Array }
export interface EapResponse { code: 2; identifier: number; type: number; data: Uint8Array }
export type EapPacket = EapRequest | EapResponse | { code: 3 | 4; identifier: number };

/** Largest EAP packet we accept: EAP-Length is 16 bits, and RADIUS would need 258 attributes for more. */
export const MAX_EAP_PACKET = 65535;

/**
 * Parses one EAP packet. Octets past Length are link padding (RFC 3748 §4.1) and are ignored;
 * a Length longer than the octets that arrived is refused.
 */
export function decodeEap(bytes: Uint8Array): EapPacket {
  if (bytes.length < 4) throw new EapProtocolError('truncated', `EAP packet of ${bytes.length} octets is shorter than its header`);
  const code = bytes[0]!;
  const identifier = bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < 4) throw new EapProtocolError('length-mismatch', `EAP Length ${length} is below the header size`);
  if (length > bytes.length) throw new EapProtocolError('length-mismatch', `EAP Length ${length} exceeds the ${bytes.length} octets received`);
  switch (code) {
    case 1:
    case 2: {
      if (length < 5) throw new EapProtocolError('missing-type', 'EAP Request/Response without a Type');
      return { code: code as 1 | 2, identifier, type: bytes[4]!, data: bytes.subarray(5, length) } as EapRequest | EapResponse;
    }
    case 3:
    case 4:
      return { code, identifier };
    default:
      throw new EapProtocolError('bad-code', `EAP Code ${code} is not one this server handles`);
  }
}

export function encodeEap(p: EapPacket): Uint8Array {
  const hasType = p.code === 1 || p.code === 2;
  const length = hasType ? 5 + p.data.length : 4;
  if (length > MAX_EAP_PACKET) throw new EapProtocolError('oversized', `EAP packet of ${length} octets exceeds 65535`);
  const out = new Uint8Array(length);
  out[0] = p.code;
  out[1] = p.identifier & 0xff;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  if (hasType) {
    out[4] = p.type;
    out.set(p.data, 5);
  }
  return out;
}

export function eapRequest(identifier: number, type: number, data: Uint8Array): Uint8Array {
  return encodeEap({ code: 1, identifier, type, data });
}

export function eapSuccess(identifier: number): Uint8Array {
  return encodeEap({ code: 3, identifier });
}

export function eapFailure(identifier: number): Uint8Array {
  return encodeEap({ code: 4, identifier });
}
