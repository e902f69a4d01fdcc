import fc from 'fast-check';

import { NoobError } from '../../src/noob/errors.js';
import { parseTopLevelObject } from '../../src/noob/json.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  MAX_MESSAGE_BYTES,
  type CodecOptions,
} from '../../src/noob/message-codec.js';
import type { NoobRequest, NoobResponse } from '../../src/noob/messages.js';
import { utf8, V } from './vectors.js';

// ---------------------------------------------------------------------------------------------
// Arbitraries for valid messages.

const b64 = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64url'));
const peerId = fc.stringMatching(/^[A-Za-z0-9_-]{1,22}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const nai = fc.tuple(fc.stringMatching(/^[a-z0-9.+_-]{0,10}$/), fc.array(label, { minLength: 2, maxLength: 3 })).map(([u, labels]) => {
  const user = u.split('.').filter((s) => s !== '').join('.');
  return `${user}@${labels.join('.')}`;
});
const intList = fc.uniqueArray(fc.integer({ min: 1, max: 0x7fffffff }), { minLength: 1, maxLength: 5 });
const pos = fc.integer({ min: 1, max: 0x7fffffff });
const dirs = fc.constantFrom(1 as const, 2 as const, 3 as const);
const infoObject = fc
  .dictionary(fc.string({ maxLength: 8, unit: 'grapheme' }), fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }), { maxKeys: 6 })
  .map((o) => JSON.stringify(o))
  .filter((t) => Buffer.byteLength(t) <= 500);
const jwk = fc.oneof(
  b64(32).map((x) => `{"kty":"OKP","crv":"X25519","x":"${x}"}`),
  fc.tuple(b64(32), b64(32)).map(([x, y]) => `{"kty":"EC","crv":"P-256","x":"${x}","y":"${y}"}`),
);
const errorInfo = fc.string({ maxLength: 120, unit: 'grapheme' });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const requestArb: fc.Arbitrary<NoobRequest> = fc.oneof(
  fc.record({ Type: fc.constant(0 as const), PeerId: opt(peerId), ErrorCode: fc.integer({ min: 1000, max: 9999 }), ErrorInfo: opt(errorInfo) }).map(clean),
  fc.constant({ Type: 1 as const }),
  fc.record({ Type: fc.constant(2 as const), Vers: intList, PeerId: peerId, NewNAI: opt(nai), Cryptosuites: intList, Dirs: dirs, ServerInfo: infoObject }).map(clean),
  fc.record({ Type: fc.constant(3 as const), PeerId: peerId, PKs: jwk, Ns: b64(32), SleepTime: opt(fc.integer({ min: 0, max: 3600 })) }).map(clean),
  fc.record({ Type: fc.constant(4 as const), PeerId: peerId, SleepTime: opt(fc.integer({ min: 0, max: 3600 })) }).map(clean),
  fc.record({ Type: fc.constant(5 as const), PeerId: peerId }),
  fc.record({ Type: fc.constant(6 as const), PeerId: peerId, NoobId: b64(16), MACs: b64(32) }),
  fc.record({ Type: fc.constant(7 as const), Vers: intList, PeerId: peerId, Cryptosuites: intList, NewNAI: opt(nai), ServerInfo: opt(infoObject) }).map(clean),
  fc.oneof(
    fc.record({ Type: fc.constant(8 as const), PeerId: peerId, KeyingMode: fc.constant(1 as const), Ns2: b64(32) }),
    fc.record({ Type: fc.constant(8 as const), PeerId: peerId, KeyingMode: fc.constantFrom(2 as const, 3 as const), PKs2: jwk, Ns2: b64(32) }),
  ),
  fc.record({ Type: fc.constant(9 as const), PeerId: peerId, MACs2: b64(32) }),
);

const responseArb: fc.Arbitrary<NoobResponse> = fc.oneof(
  fc.record({ Type: fc.constant(0 as const), PeerId: opt(peerId), ErrorCode: fc.integer({ min: 1000, max: 9999 }), ErrorInfo: opt(errorInfo) }).map(clean),
  fc.constant({ Type: 1 as const, PeerState: 0 as const }),
  fc.record({ Type: fc.constant(1 as const), PeerId: peerId, PeerState: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const) }),
  fc.record({ Type: fc.constant(2 as const), Verp: pos, PeerId: peerId, Cryptosuitep: pos, Dirp: dirs, PeerInfo: infoObject }),
  fc.record({ Type: fc.constant(3 as const), PeerId: peerId, PKp: jwk, Np: b64(32) }),
  fc.record({ Type: fc.constant(4 as const), PeerId: peerId }),
  fc.record({ Type: fc.constant(5 as const), PeerId: peerId, NoobId: b64(16) }),
  fc.record({ Type: fc.constant(6 as const), PeerId: peerId, MACp: b64(32) }),
  fc.record({ Type: fc.constant(7 as const), Verp: pos, PeerId: peerId, Cryptosuitep: pos, PeerInfo: opt(infoObject) }).map(clean),
  fc.record({ Type: fc.constant(8 as const), PeerId: peerId, PKp2: opt(jwk), Np2: b64(32) }).map(clean),
  fc.record({ Type: fc.constant(9 as const), PeerId: peerId, MACp2: b64(32) }),
);

const COMPAT: CodecOptions[] = [{}, { compat: 'vogeltak' }];

describe('round trip', () => {
  it.each(COMPAT)('decodeRequest(encodeRequest(m)) = m (%o)', (opts) => {
    fc.assert(
      fc.property(requestArb, (msg) => {
        // With "Realm" the member carries a realm, not an NAI.
        const m = opts.compat === 'vogeltak' && 'NewNAI' in msg && msg.NewNAI !== undefined ? { ...msg, NewNAI: msg.NewNAI.split('@')[1]! } : msg;
        expect(decodeRequest(encodeRequest(m, opts), opts).message).toEqual(m);
      }),
      { numRuns: 400 },
    );
  });
  it('decodeResponse(encodeResponse(m)) = m', () => {
    fc.assert(
      fc.property(responseArb, (m) => {
        expect(decodeResponse(encodeResponse(m)).message).toEqual(m);
      }),
      { numRuns: 400 },
    );
  });
  it('encode(decode(bytes)) = bytes for compact input', () => {
    fc.assert(
      fc.property(requestArb, (m) => {
        const bytes = encodeRequest(m);
        expect(Buffer.from(encodeRequest(decodeRequest(bytes).message)).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });
});

/** Runs the decoder; anything thrown must be a NoobError with a registered code. */
function onlyNoobErrors(bytes: Uint8Array): void {
  for (const decode of [decodeRequest, decodeResponse]) {
    for (const opts of COMPAT) {
      try {
        decode(bytes, opts);
      } catch (e) {
        if (!(e instanceof NoobError)) throw e;
        expect([1002, 1003, 1004, 1005, 5002, 5004]).toContain(e.code);
      }
    }
  }
}

describe('junk never throws anything but NoobError', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyNoobErrors(b)), { numRuns: 500 });
  });
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (s) => onlyNoobErrors(utf8(s))), { numRuns: 500 });
  });
  it('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => onlyNoobErrors(utf8(JSON.stringify(v) ?? 'null'))), { numRuns: 500 });
  });
  it('objects with the right member names and random values', () => {
    const names = ['Type', 'PeerId', 'PeerState', 'Vers', 'Verp', 'NewNAI', 'Realm', 'Cryptosuites', 'Cryptosuitep', 'Dirs', 'Dirp', 'ServerInfo', 'PeerInfo', 'PKs', 'PKp', 'Ns', 'Np', 'SleepTime', 'NoobId', 'MACs', 'MACp', 'KeyingMode', 'PKs2', 'PKp2', 'Ns2', 'Np2', 'MACs2', 'MACp2', 'ErrorCode', 'ErrorInfo'];
    const value = fc.oneof(fc.integer({ min: -2, max: 12 }), fc.jsonValue({ maxDepth: 2 }), b64(16), b64(32), jwk);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 8 }), (o) => onlyNoobErrors(utf8(JSON.stringify(o)))),
      { numRuns: 1000 },
    );
  });
  it('valid messages with one byte changed, inserted or cut', () => {
    fc.assert(
      fc.property(requestArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'cut'), (m, at, byte, how) => {
        const b = Buffer.from(encodeRequest(m));
        const i = at % b.length;
        const mutated = how === 'flip' ? Buffer.from(b).fill(byte, i, i + 1) : how === 'insert' ? Buffer.concat([b.subarray(0, i), Buffer.of(byte), b.subarray(i)]) : b.subarray(0, i);
        onlyNoobErrors(new Uint8Array(mutated));
      }),
      { numRuns: 1000 },
    );
  });
});

function code(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof NoobError) return e.code;
    throw e;
  }
  return undefined;
}
const req = (s: string, opts: CodecOptions = {}) => code(() => decodeRequest(utf8(s), opts));
const rsp = (s: string) => code(() => decodeResponse(utf8(s)));

const P = '07KRU6OgqX0HIeRFldnbSW';
const N32 = 'PYO7NVd9Af3BxEri1MI6hL8Ck49YxwCjSRPqlC1SPbw';
const JWK = '{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}';

describe('RFC 9140 error codes', () => {
  it('1002: not an object, not UTF-8, missing, unknown or duplicate members, bad JSON', () => {
    expect(rsp('[1]')).toBe(1002);
    expect(rsp('"x"')).toBe(1002);
    expect(rsp('')).toBe(1002);
    expect(code(() => decodeResponse(Uint8Array.of(0x7b, 0xff, 0x7d)))).toBe(1002);
    expect(code(() => decodeResponse(Uint8Array.of(0xef, 0xbb, 0xbf, ...utf8('{"Type":1,"PeerState":0}'))))).toBe(1002);
    expect(rsp('{"PeerState":0}')).toBe(1002);
    expect(rsp('{"Type":1}')).toBe(1002);
    expect(rsp('{"Type":1,"PeerState":0,"Extra":1}')).toBe(1002);
    expect(req('{"Type":1,"PeerId":"x"}')).toBe(1002);
    expect(rsp('{"Type":1,"PeerState":0,"PeerState":0}')).toBe(1002);
    expect(rsp('{"Type":1,"PeerState":0')).toBe(1002);
    expect(rsp('{"Type":1,"PeerState":0} x')).toBe(1002);
    expect(rsp('{"Type":"1","PeerState":0}')).toBe(1002);
    expect(rsp('{"Type":1.0,"PeerState":0}')).toBe(1002);
    expect(rsp('{"Type":1,"PeerState":1}')).toBe(1002); // PeerId required in states 1..3
    expect(req(`{"Type":8,"PeerId":"${P}","KeyingMode":1,"PKs2":${JWK},"Ns2":"${N32}"}`)).toBe(1002);
    expect(req(`{"Type":8,"PeerId":"${P}","KeyingMode":2,"Ns2":"${N32}"}`)).toBe(1002);
    expect(req(`{"Type":2,"Vers":[1],"PeerId":"${P}","Realm":"","Cryptosuites":[1],"Dirs":3,"ServerInfo":{}}`)).toBe(1002);
    expect(rsp('{"Type":1,"PeerState":0,"x":"\\ud800"}')).toBe(1002);
    expect(rsp(`{"Type":2,"Verp":1,"PeerId":"${P}","Cryptosuitep":1,"Dirp":1,"PeerInfo":{"a":[[[[[[[[[1]]]]]]]]]}}`)).toBe(1002);
  });

  it('1002 before parsing for oversized messages', () => {
    const big = new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x20);
    expect(code(() => decodeResponse(big))).toBe(1002);
    // A megabyte is refused without being decoded: neither text decoding nor JSON parsing runs
    // (shown by what is called, not by a timing, which a loaded machine makes meaningless).
    const parse = jest.spyOn(JSON, 'parse');
    const decode = jest.spyOn(TextDecoder.prototype, 'decode');
    try {
      expect(code(() => decodeResponse(new Uint8Array(1 << 20)))).toBe(1002);
      expect(parse).not.toHaveBeenCalled();
      expect(decode).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
      decode.mockRestore();
    }
  });

  it('1004: unknown message type', () => {
    expect(rsp('{"Type":10}')).toBe(1004);
    expect(req('{"Type":42,"PeerId":"x"}')).toBe(1004);
  });

  it('1003: wrong types, lengths and ranges', () => {
    expect(rsp('{"Type":1,"PeerState":4,"PeerId":"a"}')).toBe(1003);
    expect(rsp('{"Type":1,"PeerState":-1}')).toBe(1003);
    expect(rsp('{"Type":1,"PeerState":"0"}')).toBe(1003);
    expect(rsp(`{"Type":2,"Verp":1.0,"PeerId":"${P}","Cryptosuitep":1,"Dirp":1,"PeerInfo":{}}`)).toBe(1003);
    expect(rsp(`{"Type":2,"Verp":1e0,"PeerId":"${P}","Cryptosuitep":1,"Dirp":1,"PeerInfo":{}}`)).toBe(1003);
    expect(rsp(`{"Type":2,"Verp":1,"PeerId":"${P}","Cryptosuitep":1,"Dirp":4,"PeerInfo":{}}`)).toBe(1003);
    expect(rsp(`{"Type":2,"Verp":0,"PeerId":"${P}","Cryptosuitep":1,"Dirp":1,"PeerInfo":{}}`)).toBe(1003);
    expect(rsp(`{"Type":2,"Verp":99999999999,"PeerId":"${P}","Cryptosuitep":1,"Dirp":1,"PeerInfo":{}}`)).toBe(1003);
    expect(req(`{"Type":2,"Vers":[],"PeerId":"${P}","Cryptosuites":[1],"Dirs":3,"ServerInfo":{}}`)).toBe(1003);
    expect(req(`{"Type":2,"Vers":[1,1],"PeerId":"${P}","Cryptosuites":[1],"Dirs":3,"ServerInfo":{}}`)).toBe(1003);
    expect(req(`{"Type":2,"Vers":[1],"PeerId":"${P}","Cryptosuites":[1.5],"Dirs":3,"ServerInfo":{}}`)).toBe(1003);
    expect(req(`{"Type":2,"Vers":[1],"PeerId":"${P}","NewNAI":"not an nai","Cryptosuites":[1],"Dirs":3,"ServerInfo":{}}`)).toBe(1003);
    expect(req(`{"Type":3,"PeerId":"${P}","PKs":${JWK},"Ns":"${N32}","SleepTime":3601}`)).toBe(1003);
    expect(req(`{"Type":3,"PeerId":"${P}","PKs":${JWK},"Ns":"${N32.slice(1)}"}`)).toBe(1003);
    expect(req(`{"Type":3,"PeerId":"${P}","PKs":${JWK},"Ns":"${N32}="}`)).toBe(1003);
    // Non-canonical: the last character has non-zero unused bits.
    expect(req(`{"Type":3,"PeerId":"${P}","PKs":${JWK},"Ns":"${N32.slice(0, -1)}x"}`)).toBe(1003);
    expect(rsp(`{"Type":5,"PeerId":"${P}","NoobId":"${N32}"}`)).toBe(1003);
    expect(rsp('{"Type":4,"PeerId":""}')).toBe(1003);
    expect(rsp('{"Type":4,"PeerId":"a@b"}')).toBe(1003);
    expect(rsp('{"Type":4,"PeerId":"a b"}')).toBe(1003);
    expect(rsp('{"Type":4,"PeerId":"\\u0061bc"}')).toBe(1003); // escaped spelling of a MACed string
    expect(rsp(`{"Type":4,"PeerId":"${'a'.repeat(65)}"}`)).toBe(1003);
    expect(rsp(`{"Type":0,"ErrorCode":1,"ErrorInfo":"x"}`)).toBe(1003);
    expect(rsp(`{"Type":0,"ErrorCode":1001,"ErrorInfo":"${'é'.repeat(251)}"}`)).toBe(1003);
    expect(rsp(`{"Type":0,"ErrorCode":1001,"ErrorInfo":"${'é'.repeat(250)}"}`)).toBeUndefined();
  });

  it('1005: PKs/PKp not a JWK object', () => {
    expect(req(`{"Type":3,"PeerId":"${P}","PKs":"${N32}","Ns":"${N32}"}`)).toBe(1005);
    expect(rsp(`{"Type":3,"PeerId":"${P}","PKp":[1],"Np":"${N32}"}`)).toBe(1005);
    expect(rsp(`{"Type":3,"PeerId":"${P}","PKp":{"x":"${'A'.repeat(400)}"},"Np":"${N32}"}`)).toBe(1005);
  });

  it('5002 / 5004: the 500-byte limits on ServerInfo and PeerInfo', () => {
    const info = (n: number) => `{"a":"${'x'.repeat(n - 8)}"}`;
    expect(info(500).length).toBe(500);
    const r2 = (pi: string) => rsp(`{"Type":2,"Verp":1,"PeerId":"${P}","Cryptosuitep":1,"Dirp":1,"PeerInfo":${pi}}`);
    expect(r2(info(500))).toBeUndefined();
    expect(r2(info(501))).toBe(5004);
    expect(r2('"str"')).toBe(5004);
    expect(rsp(`{"Type":7,"Verp":1,"PeerId":"${P}","Cryptosuitep":1,"PeerInfo":${info(501)}}`)).toBe(5004);
    const q2 = (si: string) => req(`{"Type":2,"Vers":[1],"PeerId":"${P}","Cryptosuites":[1],"Dirs":3,"ServerInfo":${si}}`);
    expect(q2(info(500))).toBeUndefined();
    expect(q2(info(501))).toBe(5002);
    expect(q2('[]')).toBe(5002);
    // The limit counts UTF-8 bytes, not characters.
    expect(q2(`{"a":"${'é'.repeat(246)}"}`)).toBeUndefined();
    expect(q2(`{"a":"${'é'.repeat(247)}"}`)).toBe(5002);
  });

  it('members may come in any order and with whitespace; raw texts keep it', () => {
    const d = decodeResponse(utf8(`{ "PeerInfo" : { "b" : 1 , "a" : [ 1 ] } , "Dirp":1,"Cryptosuitep":1,"PeerId":"${P}","Verp":1,"Type":2 }`));
    expect(d.message).toMatchObject({ Type: 2, Dirp: 1, PeerInfo: '{ "b" : 1 , "a" : [ 1 ] }' });
    expect(d.raw.get('PeerInfo')).toBe('{ "b" : 1 , "a" : [ 1 ] }');
    const v = decodeRequest(utf8(`{"Type":7,"Vers":[ 1 ],"PeerId":"${P}","Cryptosuites":[1 ,2]}`));
    expect(v.raw.get('Vers')).toBe('[ 1 ]');
    expect(v.raw.get('Cryptosuites')).toBe('[1 ,2]');
  });
});

describe('JSON scanner', () => {
  it('gives the exact source text of each member and decodes escapes', () => {
    const m = parseTopLevelObject('{"a":"x\\"y\\u00e9\\ud83d\\ude00","b":[1,{"c":null}],"c":-1.5e3,"d":true}');
    expect(m.map((x) => x.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(m[0]!.value).toBe('x"yé😀');
    expect(m[0]!.raw).toBe('"x\\"y\\u00e9\\ud83d\\ude00"');
    expect(m[1]!.raw).toBe('[1,{"c":null}]');
    expect(m[2]!.value).toBe(-1500);
  });
  it('keeps "__proto__" as data', () => {
    const m = parseTopLevelObject('{"x":{"__proto__":{"polluted":1}}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(m[0]!.value as object)).toEqual(['__proto__']);
  });
  it('agrees with JSON.parse on values it accepts', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }), { maxKeys: 5 }), (o) => {
        const text = JSON.stringify(o);
        const ours = Object.fromEntries(parseTopLevelObject(text, { maxDepth: 10 }).map((x) => [x.key, x.value]));
        expect(JSON.stringify(ours)).toBe(JSON.stringify(JSON.parse(text)));
      }),
    );
  });
});

describe('the vogeltak profile\'s 0x00 terminator', () => {
  const vogeltak: CodecOptions = { compat: 'vogeltak' };
  it('every request ends with exactly one 0x00 in the profile, and never without it', () => {
    fc.assert(
      fc.property(requestArb, (msg) => {
        const m = 'NewNAI' in msg && msg.NewNAI !== undefined ? { ...msg, NewNAI: msg.NewNAI.split('@')[1]! } : msg;
        const plain = encodeRequest(m);
        const terminated = encodeRequest(m, vogeltak);
        expect(plain.includes(0)).toBe(false);
        expect(terminated[terminated.length - 1]).toBe(0);
        expect(terminated.subarray(0, -1).includes(0)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('the authors\' Type 6 of 131 octets (≡ 3 mod 16, where their peer fails with 1003) goes out as 132 with the terminator', () => {
    const type6 = V.live_interop_transcript_vogeltak.wire[10]![1];
    expect(Buffer.byteLength(type6)).toBe(131);
    const bytes = encodeRequest(decodeRequest(new TextEncoder().encode(type6), vogeltak).message, vogeltak);
    expect(bytes.length).toBe(132);
    expect(Buffer.from(bytes.subarray(0, 131)).toString('utf8')).toBe(type6);
  });

  it('a trailing 0x00 on a response is accepted in the profile only; the default refuses it (1002)', () => {
    const rsp = new TextEncoder().encode('{"Type":4,"PeerId":"lM3XpYq6xqp7FlTP7qigen"}\u0000');
    expect(decodeResponse(rsp, vogeltak).message).toEqual({ Type: 4, PeerId: 'lM3XpYq6xqp7FlTP7qigen' });
    expect(() => decodeResponse(rsp)).toThrow(expect.objectContaining({ code: 1002 }));
    // Only one: two NULs are not a terminator.
    const two = new TextEncoder().encode('{"Type":4,"PeerId":"lM3XpYq6xqp7FlTP7qigen"}\u0000\u0000');
    expect(() => decodeResponse(two, vogeltak)).toThrow(expect.objectContaining({ code: 1002 }));
  });
});
