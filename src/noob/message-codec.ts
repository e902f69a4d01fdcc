/**
 * Sans-IO codec for EAP-NOOB messages: bytes (the EAP Type-Data after the Type octet) in, typed
 * message out, and back. No sockets, no state.
 *
 * Validation follows RFC 9140 §3.3.2 and §3.6.4:
 *   not UTF-8 / not a JSON object / missing, unknown or duplicate member   -> 1002
 *   a Type value outside 0..9                                             -> 1004
 *   a member of the wrong JSON type, length or range                      -> 1003
 *   a bad JWK                                                             -> 1005
 *   ServerInfo not an object or over 500 bytes                            -> 5002
 *   PeerInfo not an object or over 500 bytes                              -> 5004
 * The whole message is size-checked before any decoding or parsing.
 */
import { b64urlDecodeExact } from './base64url.js';
import { NoobError, NoobErrorCode } from './errors.js';
import { decodeUtf8Strict, isJsonObject, parseTopLevelObject, utf8Length, type JsonValue } from './json.js';
import type { NoobMessage, NoobRequest, NoobResponse } from './messages.js';
import { isValidNai, isValidNaiUsername, isValidRealm } from './nai.js';

/**
 * Largest message accepted. The biggest legitimate one (type 2 or 7 request with a 500-byte
 * ServerInfo and a 253-byte NewNAI) is under 1 KB; EAP-NOOB has no fragmentation, so anything
 * much larger cannot be valid.
 */
export const MAX_MESSAGE_BYTES = 2048;
/** RFC 9140 §3.3.2: ServerInfo, PeerInfo and ErrorInfo are each at most 500 bytes. */
export const MAX_INFO_BYTES = 500;
/** A JWK of either cryptosuite is about 150 bytes; this leaves room for optional members. */
export const MAX_JWK_BYTES = 400;
/** RFC 7542 §2.2: NAIs are at most 253 octets. */
export const MAX_NAI_BYTES = 253;
/** PeerIds are recommended to be 22 characters; we accept up to 64 from other servers. */
export const MAX_PEER_ID_BYTES = 64;
/** RFC 9140 §3.2.2: SleepTime upper bound. */
export const MAX_SLEEP_TIME = 3600;

/**
 * Interop profile of the codec. "vogeltak" speaks the member name "Realm" instead of "NewNAI", and
 * ends every request with one 0x00 octet after the JSON: the authors' peer parses a request with
 * strlen(), so without a terminator it reads past the EAP payload and, when no spare byte follows
 * in its buffer (JSON length ≡ 3 mod 16, e.g. every cryptosuite-1 Type 6 at 131 octets), fails
 * with 1003. A trailing 0x00 on a message we receive is accepted in this profile.
 */
export type CodecCompat = 'none' | 'vogeltak';

export interface CodecOptions {
  compat?: CodecCompat;
}

export interface Decoded<M extends NoobMessage> {
  message: M;
  /** Field name -> exact wire text of its value (for the Hoob/MAC inputs). */
  raw: ReadonlyMap<string, string>;
}

type Kind =
  | 'peerId'
  | 'nai'
  | 'realm'
  | 'intArray'
  | 'positiveInt'
  | 'dirs'
  | 'peerState'
  | 'keyingMode'
  | 'sleepTime'
  | 'b64_16'
  | 'b64_32'
  | 'serverInfo'
  | 'peerInfo'
  | 'jwk'
  | 'errorCode'
  | 'errorInfo';

interface MemberSpec {
  /** Field name in the typed message. */
  field: string;
  kind: Kind;
  required: boolean;
}

const r = (field: string, kind: Kind): MemberSpec => ({ field, kind, required: true });
const o = (field: string, kind: Kind): MemberSpec => ({ field, kind, required: false });

const ERROR_MEMBERS = [o('PeerId', 'peerId'), r('ErrorCode', 'errorCode'), o('ErrorInfo', 'errorInfo')];

/** Members after "Type", in the order we emit them (RFC 9140 Figures 4–8 and all known implementations). */
const REQUEST_SCHEMA: readonly (readonly MemberSpec[])[] = [
  ERROR_MEMBERS,
  [],
  [r('Vers', 'intArray'), r('PeerId', 'peerId'), o('NewNAI', 'nai'), r('Cryptosuites', 'intArray'), r('Dirs', 'dirs'), r('ServerInfo', 'serverInfo')],
  [r('PeerId', 'peerId'), r('PKs', 'jwk'), r('Ns', 'b64_32'), o('SleepTime', 'sleepTime')],
  [r('PeerId', 'peerId'), o('SleepTime', 'sleepTime')],
  [r('PeerId', 'peerId')],
  [r('PeerId', 'peerId'), r('NoobId', 'b64_16'), r('MACs', 'b64_32')],
  [r('Vers', 'intArray'), r('PeerId', 'peerId'), r('Cryptosuites', 'intArray'), o('NewNAI', 'nai'), o('ServerInfo', 'serverInfo')],
  [r('PeerId', 'peerId'), r('KeyingMode', 'keyingMode'), o('PKs2', 'jwk'), r('Ns2', 'b64_32')],
  [r('PeerId', 'peerId'), r('MACs2', 'b64_32')],
];

const RESPONSE_SCHEMA: readonly (readonly MemberSpec[])[] = [
  ERROR_MEMBERS,
  [o('PeerId', 'peerId'), r('PeerState', 'peerState')],
  [r('Verp', 'positiveInt'), r('PeerId', 'peerId'), r('Cryptosuitep', 'positiveInt'), r('Dirp', 'dirs'), r('PeerInfo', 'peerInfo')],
  [r('PeerId', 'peerId'), r('PKp', 'jwk'), r('Np', 'b64_32')],
  [r('PeerId', 'peerId')],
  [r('PeerId', 'peerId'), r('NoobId', 'b64_16')],
  [r('PeerId', 'peerId'), r('MACp', 'b64_32')],
  [r('Verp', 'positiveInt'), r('PeerId', 'peerId'), r('Cryptosuitep', 'positiveInt'), o('PeerInfo', 'peerInfo')],
  [r('PeerId', 'peerId'), o('PKp2', 'jwk'), r('Np2', 'b64_32')],
  [r('PeerId', 'peerId'), r('MACp2', 'b64_32')],
];

/** Wire name of a field: the Aalto/Vogeltak code says "Realm" where RFC 9140 says "NewNAI". */
function wireName(field: string, compat: CodecCompat): string {
  return field === 'NewNAI' && compat === 'vogeltak' ? 'Realm' : field;
}

function specsFor(schema: readonly (readonly MemberSpec[])[], type: number, compat: CodecCompat): readonly MemberSpec[] {
  const specs = schema[type]!;
  // In the compatibility profile the "Realm" member may be empty and is a realm, not an NAI.
  return compat === 'vogeltak' ? specs.map((s) => (s.kind === 'nai' ? { ...s, kind: 'realm' as const } : s)) : specs;
}

const INT = /^(?:0|[1-9][0-9]{0,9})$/;
const INT_ARRAY = /^\[[ \t\r\n]*(?:0|[1-9][0-9]{0,9})(?:[ \t\r\n]*,[ \t\r\n]*(?:0|[1-9][0-9]{0,9}))*[ \t\r\n]*\]$/;
const MAX_INT = 0x7fffffff;

const invalid = (what: string, why: string): NoobError => new NoobError(NoobErrorCode.InvalidData, `${what}: ${why}`);

/** An integer in integer syntax (no fraction, no exponent, no sign), within 0..2^31-1. */
function intFrom(raw: string, field: string): number {
  if (!INT.test(raw)) throw invalid(field, 'must be a non-negative integer');
  const n = Number(raw);
  if (n > MAX_INT) throw invalid(field, 'integer out of range');
  return n;
}

function canonicalString(value: JsonValue, raw: string, field: string): string {
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  // Only the spelling JSON.stringify produces: the text enters Hoob/MACs and must be unambiguous.
  if (JSON.stringify(value) !== raw) throw invalid(field, 'must be written without unnecessary escapes');
  return value;
}

function checkMember(spec: MemberSpec, value: JsonValue, raw: string): unknown {
  const f = spec.field;
  switch (spec.kind) {
    case 'peerId': {
      const s = canonicalString(value, raw, f);
      if (utf8Length(s) > MAX_PEER_ID_BYTES || !isValidNaiUsername(s) || s.length === 0) throw invalid(f, 'not a valid PeerId');
      return s;
    }
    case 'nai': {
      const s = canonicalString(value, raw, f);
      if (utf8Length(s) > MAX_NAI_BYTES || !isValidNai(s)) throw invalid(f, 'not a valid NAI (RFC 7542)');
      return s;
    }
    case 'realm': {
      const s = canonicalString(value, raw, f);
      if (s !== '' && (utf8Length(s) > MAX_NAI_BYTES || !isValidRealm(s))) throw invalid(f, 'not a valid realm');
      return s;
    }
    case 'intArray': {
      if (!Array.isArray(value) || !INT_ARRAY.test(raw)) throw invalid(f, 'must be a non-empty array of integers');
      const list = value as number[];
      if (list.some((n) => n < 1 || n > MAX_INT)) throw invalid(f, 'values must be positive integers');
      if (new Set(list).size !== list.length) throw invalid(f, 'duplicate values');
      return list;
    }
    case 'positiveInt': {
      const n = intFrom(raw, f);
      if (n < 1) throw invalid(f, 'must be positive');
      return n;
    }
    case 'dirs': {
      const n = intFrom(raw, f);
      if (n < 1 || n > 3) throw invalid(f, 'must be 1, 2 or 3');
      return n;
    }
    case 'peerState': {
      const n = intFrom(raw, f);
      // State 4 exists but is never sent: a registered peer moves to 3 before it starts EAP-NOOB.
      if (n > 3) throw invalid(f, 'must be 0..3');
      return n;
    }
    case 'keyingMode': {
      const n = intFrom(raw, f);
      if (n < 1 || n > 3) throw invalid(f, 'must be 1, 2 or 3');
      return n;
    }
    case 'sleepTime': {
      const n = intFrom(raw, f);
      if (n > MAX_SLEEP_TIME) throw invalid(f, `must be at most ${MAX_SLEEP_TIME}`);
      return n;
    }
    case 'b64_16':
      b64urlDecodeExact(canonicalString(value, raw, f), 16, f);
      return value;
    case 'b64_32':
      b64urlDecodeExact(canonicalString(value, raw, f), 32, f);
      return value;
    case 'serverInfo':
      if (!isJsonObject(value)) throw new NoobError(NoobErrorCode.InvalidServerInfo, 'ServerInfo must be a JSON object');
      if (utf8Length(raw) > MAX_INFO_BYTES) throw new NoobError(NoobErrorCode.InvalidServerInfo, 'ServerInfo exceeds 500 bytes');
      return raw;
    case 'peerInfo':
      if (!isJsonObject(value)) throw new NoobError(NoobErrorCode.InvalidPeerInfo, 'PeerInfo must be a JSON object');
      if (utf8Length(raw) > MAX_INFO_BYTES) throw new NoobError(NoobErrorCode.InvalidPeerInfo, 'PeerInfo exceeds 500 bytes');
      return raw;
    case 'jwk':
      if (!isJsonObject(value)) throw new NoobError(NoobErrorCode.InvalidEcdheKey, `${f} must be a JWK object`);
      if (utf8Length(raw) > MAX_JWK_BYTES) throw new NoobError(NoobErrorCode.InvalidEcdheKey, `${f} is too large`);
      return raw;
    case 'errorCode': {
      const n = intFrom(raw, f);
      if (n < 1000 || n > 9999) throw invalid(f, 'must be a four-digit error code');
      return n;
    }
    case 'errorInfo':
      if (typeof value !== 'string') throw invalid(f, 'must be a string');
      if (utf8Length(value) > MAX_INFO_BYTES) throw invalid(f, 'exceeds 500 bytes');
      return value;
  }
}

function decode(bytes: Uint8Array, schema: readonly (readonly MemberSpec[])[], isRequest: boolean, opts: CodecOptions): Decoded<NoobMessage> {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new NoobError(NoobErrorCode.InvalidMessageStructure, `message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  const compat = opts.compat ?? 'none';
  if (compat === 'vogeltak' && bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, bytes.length - 1);
  const members = parseTopLevelObject(decodeUtf8Strict(bytes));
  const typeMember = members.find((m) => m.key === 'Type');
  if (!typeMember) throw new NoobError(NoobErrorCode.InvalidMessageStructure, 'missing member "Type"');
  if (!INT.test(typeMember.raw)) throw new NoobError(NoobErrorCode.InvalidMessageStructure, '"Type" must be an integer');
  const type = Number(typeMember.raw);
  if (type > 9) throw new NoobError(NoobErrorCode.UnexpectedMessageType, `unknown message type ${type}`);

  const specs = specsFor(schema, type, compat);
  const byWire = new Map(specs.map((s) => [wireName(s.field, compat), s]));
  const message: Record<string, unknown> = { Type: type };
  const raw = new Map<string, string>([['Type', typeMember.raw]]);
  for (const m of members) {
    if (m.key === 'Type') continue;
    const spec = byWire.get(m.key);
    if (!spec) throw new NoobError(NoobErrorCode.InvalidMessageStructure, `unrecognized member "${m.key}" in type ${type}`);
    message[spec.field] = checkMember(spec, m.value, m.raw);
    raw.set(spec.field, m.raw);
  }
  for (const s of specs) {
    if (s.required && !(s.field in message)) {
      throw new NoobError(NoobErrorCode.InvalidMessageStructure, `missing member "${wireName(s.field, compat)}" in type ${type}`);
    }
  }
  // Presence rules that depend on other members.
  if (!isRequest && type === 1 && message.PeerState !== 0 && message.PeerId === undefined) {
    throw new NoobError(NoobErrorCode.InvalidMessageStructure, 'PeerId is required when PeerState is 1..3');
  }
  if (isRequest && type === 8) {
    const needsKey = message.KeyingMode !== 1;
    if (needsKey !== (message.PKs2 !== undefined)) {
      throw new NoobError(NoobErrorCode.InvalidMessageStructure, 'PKs2 must be present exactly when KeyingMode is 2 or 3');
    }
  }
  return { message: message as unknown as NoobMessage, raw };
}

/** Parses an EAP-Request Type-Data (server to peer). Throws only NoobError. */
export function decodeRequest(bytes: Uint8Array, opts: CodecOptions = {}): Decoded<NoobRequest> {
  return decode(bytes, REQUEST_SCHEMA, true, opts) as Decoded<NoobRequest>;
}

/** Parses an EAP-Response Type-Data (peer to server). Throws only NoobError. */
export function decodeResponse(bytes: Uint8Array, opts: CodecOptions = {}): Decoded<NoobResponse> {
  return decode(bytes, RESPONSE_SCHEMA, false, opts) as Decoded<NoobResponse>;
}

function valueText(kind: Kind, v: unknown): string {
  switch (kind) {
    case 'intArray':
      return `[${(v as number[]).join(',')}]`;
    case 'serverInfo':
    case 'peerInfo':
    case 'jwk':
      return v as string;
    case 'peerId':
    case 'nai':
    case 'realm':
    case 'b64_16':
    case 'b64_32':
    case 'errorInfo':
      return JSON.stringify(v as string);
    default:
      return String(v as number);
  }
}

/**
 * The wire text of every member of `msg`, in emission order, keyed by field name. Used both to
 * serialize and to fill Hoob/MAC inputs with exactly the text we send.
 */
export function memberTexts(msg: NoobMessage, isRequest: boolean, opts: CodecOptions = {}): Map<string, string> {
  const compat = opts.compat ?? 'none';
  const specs = specsFor(isRequest ? REQUEST_SCHEMA : RESPONSE_SCHEMA, msg.Type, compat);
  const fields = msg as unknown as Record<string, unknown>;
  const out = new Map<string, string>([['Type', String(msg.Type)]]);
  for (const s of specs) {
    const v = fields[s.field];
    if (v === undefined) {
      if (s.required) throw new Error(`cannot encode type ${msg.Type}: missing ${s.field}`);
      continue;
    }
    out.set(s.field, valueText(s.kind, v));
  }
  return out;
}

function encode(msg: NoobMessage, isRequest: boolean, opts: CodecOptions): Uint8Array {
  const compat = opts.compat ?? 'none';
  const parts: string[] = [];
  for (const [field, text] of memberTexts(msg, isRequest, opts)) parts.push(`${JSON.stringify(wireName(field, compat))}:${text}`);
  return new Uint8Array(Buffer.from(`{${parts.join(',')}}`, 'utf8'));
}

/** Serializes a request compactly, members in the RFC's order (and the 0x00 terminator in the vogeltak profile). */
export function encodeRequest(msg: NoobRequest, opts: CodecOptions = {}): Uint8Array {
  const json = encode(msg, true, opts);
  if (opts.compat !== 'vogeltak') return json;
  const terminated = new Uint8Array(json.length + 1);
  terminated.set(json);
  return terminated;
}

/** Serializes a response compactly, members in the RFC's order. */
export function encodeResponse(msg: NoobResponse, opts: CodecOptions = {}): Uint8Array {
  return encode(msg, false, opts);
}
