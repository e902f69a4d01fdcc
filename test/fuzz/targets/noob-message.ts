import { isDeepStrictEqual } from 'node:util';
import { importPublicJwk } from '../../../src/noob/crypto/cryptosuites.js';
import { NoobError } from '../../../src/noob/errors.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type CodecCompat } from '../../../src/noob/message-codec.js';
import type { NoobMessage, NoobRequest, NoobResponse } from '../../../src/noob/messages.js';
import { OobFormatError, parseOobMessage } from '../../../src/noob/oob.js';
import { invariant, type FuzzTarget } from '../engine/target.js';
import { tolerate } from './tolerate.js';

const expected = (err: unknown): boolean => err instanceof NoobError || err instanceof OobFormatError;
const JWK_MEMBERS = ['PKs', 'PKp', 'PKs2', 'PKp2'] as const;

/**
 * EAP-NOOB message parsing (RFC 9140 §3.3.2): the strict JSON parser and schema checks, for requests
 * and responses, in both codec profiles; the JWKs a message carries through the key import; and the
 * same bytes as an OOB message (the QR code / URL form). Only `NoobError` (with its RFC 9140 error
 * code) and `OobFormatError` may come out. Invariant: a message that decodes re-encodes to one that
 * decodes to the same message.
 */
export const noobMessage: FuzzTarget = {
  name: 'noob-message',
  description: 'EAP-NOOB message codec (strict JSON, schemas, both profiles), JWK import, OOB message parser',
  maxLength: 2200,
  expected,
  hints: {
    dictionary: [
      '"Type":', '"PeerId":', '"PeerState":', '"Verp":', '"Vers":', '"Cryptosuitep":', '"Cryptosuites":', '"Dirp":', '"Dirs":',
      '"PeerInfo":', '"ServerInfo":', '"PKp":', '"PKs":', '"Np":', '"Ns":', '"NoobId":', '"MACp":', '"MACs":', '"PKp2":', '"Np2":',
      '"MACp2":', '"KeyingMode":', '"NewNAI":', '"Realm":', '"SleepTime":', '"ErrorCode":', '"ErrorInfo":', '{"kty":"OKP","crv":"X25519","x":"',
      '{"kty":"EC","crv":"P-256","x":"', '"y":"', '\\ud83d\\ude00', '\\u0000', '1e400', '-0', '[1,2]', '{}', 'null', 'true', '"', '\\', '\u00e9',
    ].map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
  },
  async setup() {
    return (data) => {
      for (const compat of ['none', 'vogeltak'] as const) {
        const request = tolerate(expected, () => decodeRequest(data, { compat }));
        if (request) {
          roundTrip(request.message, compat, (m) => encodeRequest(m as NoobRequest, { compat }), (b) => decodeRequest(b, { compat }).message);
          keys(request.message, compat);
        }
        const response = tolerate(expected, () => decodeResponse(data, { compat }));
        if (response) {
          roundTrip(response.message, compat, (m) => encodeResponse(m as NoobResponse, { compat }), (b) => decodeResponse(b, { compat }).message);
          keys(response.message, compat);
        }
      }
      tolerate(expected, () => parseOobMessage(Buffer.from(data).toString('utf8')));
    };
  },
};

function roundTrip(message: NoobMessage, compat: CodecCompat, encode: (m: NoobMessage) => Uint8Array, decode: (b: Uint8Array) => NoobMessage): void {
  let again: NoobMessage;
  try {
    again = decode(encode(message));
  } catch (err) {
    throw new Error(`a decoded ${compat} message does not survive re-encoding: ${(err as Error).message}`);
  }
  invariant(isDeepStrictEqual({ ...again }, { ...message }), `a ${compat} message changes when re-encoded`);
}

function keys(message: NoobMessage, compat: CodecCompat): void {
  const fields = message as unknown as Record<string, unknown>;
  for (const m of JWK_MEMBERS) {
    const jwk = fields[m];
    if (typeof jwk !== 'string') continue;
    for (const suite of [1, 2] as const) tolerate(expected, () => importPublicJwk(suite, jwk, { x25519KtyEc: compat === 'vogeltak' }));
  }
}

noobMessage.makeSeeds = async () => {
  const { readJsonFixture, utf8 } = await import('./fixtures.js');
  const v = readJsonFixture<{
    initial_waiting_completion: Record<string, { messages?: Record<string, string> }>;
    reconnect: Record<string, unknown>;
    live_interop_transcript_vogeltak: Record<string, unknown>;
    rfc9140_literal_examples: Record<string, string>;
  }>('test', 'noob', 'fixtures', 'eap-noob-vectors.json');
  const seeds: { name: string; data: Uint8Array; comment: string }[] = [];
  for (const [suite, body] of Object.entries(v.initial_waiting_completion)) {
    for (const [name, text] of Object.entries(body.messages ?? {})) {
      seeds.push({ name: `iwc-${suite}-${name}`, data: utf8(text), comment: `../shared/specs/eap-noob-vectors.json initial_waiting_completion.${suite}.messages.${name}` });
    }
  }
  const collect = (o: unknown, path: string): void => {
    if (typeof o === 'string' && o.startsWith('{"Type":')) seeds.push({ name: path.replace(/[^a-z0-9_-]/gi, '_'), data: utf8(o), comment: `../shared/specs/eap-noob-vectors.json ${path}` });
    else if (o && typeof o === 'object') for (const [k, x] of Object.entries(o)) collect(x, `${path}.${k}`);
  };
  collect(v.reconnect, 'reconnect');
  collect(v.live_interop_transcript_vogeltak, 'vogeltak');
  seeds.push({ name: 'rfc9140-oob-url', data: utf8(v.rfc9140_literal_examples.oob_url_example!), comment: '../shared/specs/eap-noob-vectors.json rfc9140_literal_examples.oob_url_example' });
  seeds.push({ name: 'error-message', data: utf8('{"Type":0,"PeerId":"07KRU6OgqX0HIeRFldnbSW","ErrorCode":2002,"ErrorInfo":"State mismatch"}'), comment: 'a Type-0 error message as RFC 9140 §3.6.4 describes it' });
  const unique = new Map(seeds.map((s) => [Buffer.from(s.data).toString('hex'), s]));
  return [...unique.values()];
};
