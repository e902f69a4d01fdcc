import fc from 'fast-check';
import { computeResponseAuthenticator } from '../../src/radius/authenticator.js';
import { ipv4Attribute, integerAttribute, stringAttribute } from '../../src/radius/attributes.js';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import { checkMessageAuthenticator, messageAuthenticatorPlaceholder } from '../../src/radius/message-authenticator.js';
import { RadiusCode, decodePacket, type RadiusAttribute } from '../../src/radius/packet.js';
import {
  buildAccessRequest,
  buildAccountingStyleRequest,
  buildStatusServer,
  verifyAccountingStyleRequest,
  verifyResponse,
} from '../../src/radius/request.js';
import { decodeUserPassword } from '../../src/radius/user-password.js';
import { SECRET, field, hex, toHex } from './fixtures.js';

/** The vector's attributes with every Message-Authenticator zeroed: rebuilding must re-sign them. */
function attributesWithBlankMa(packetHex: string): RadiusAttribute[] {
  return decodePacket(hex(packetHex)).attributes.map((a) => (a.type === 80 ? messageAuthenticatorPlaceholder() : a));
}

describe('buildAccessRequest reproduces the vectors', () => {
  test('PAP request with MA first and the password hidden after User-Name', () => {
    const built = buildAccessRequest({
      identifier: 0x2a,
      authenticator: hex(field('message_authenticator_pap', 'request_authenticator')),
      attributes: [stringAttribute(1, 'nemo'), ipv4Attribute(4, '192.168.1.16'), integerAttribute(5, 3)],
      userPassword: 'arctangent',
      secret: SECRET,
    });
    expect(toHex(built.bytes)).toBe(field('message_authenticator_pap', 'access_request'));
  });

  test.each([
    ['radclient_exchange', 'access_request_from_radclient', RadiusCode.AccessRequest],
    ['eap_and_mppe', 'access_request_eap_identity', RadiusCode.AccessRequest],
    ['rfc5997_examples', '6.1_status_server', RadiusCode.StatusServer],
    ['rfc5997_examples', '6.2_status_server_acct_port', RadiusCode.StatusServer],
    ['rfc5997_examples', '6.3_status_server', RadiusCode.StatusServer],
  ] as const)('%s %s (MA signed where it stands)', (group, name, code) => {
    const original = hex(field(group, name));
    const built = buildAccessRequest({
      code,
      identifier: original[1]!,
      authenticator: original.subarray(4, 20),
      attributes: attributesWithBlankMa(field(group, name)),
      secret: SECRET,
    });
    expect(toHex(built.bytes)).toBe(field(group, name));
  });

  test('fresh requests: random authenticator, MA first and valid, password decodable', () => {
    const a = buildAccessRequest({ identifier: 1, attributes: [stringAttribute(1, 'bob')], userPassword: 'hello', secret: SECRET });
    const b = buildAccessRequest({ identifier: 1, attributes: [stringAttribute(1, 'bob')], secret: SECRET });
    expect(toHex(a.authenticator)).not.toBe(toHex(b.authenticator));
    const p = decodePacket(a.bytes);
    expect(p.attributes.map((x) => x.type)).toEqual([80, 1, 2]);
    expect(checkMessageAuthenticator(a.bytes, SECRET)).toBe('valid');
    expect(Buffer.from(decodeUserPassword(p.attributes[2]!.value, SECRET, a.authenticator)).toString()).toBe('hello');
  });

  test('buildStatusServer', () => {
    const s = buildStatusServer({ identifier: 0xda, secret: SECRET, authenticator: hex(field('rfc5997_examples', '6.1_status_server')).subarray(4, 20) });
    expect(toHex(s.bytes)).toBe(field('rfc5997_examples', '6.1_status_server'));
  });
});

describe('buildAccountingStyleRequest reproduces radclient', () => {
  test.each(['disconnect_request', 'coa_request_with_ma', 'accounting_request'])('%s', (name) => {
    const original = hex(field('request_authenticator_md5_captured', name));
    const built = buildAccountingStyleRequest({
      code: original[0]!,
      identifier: original[1]!,
      attributes: attributesWithBlankMa(field('request_authenticator_md5_captured', name)),
      secret: SECRET,
    });
    expect(toHex(built.bytes)).toBe(field('request_authenticator_md5_captured', name));
    expect(toHex(built.authenticator)).toBe(toHex(original.subarray(4, 20)));
    expect(verifyAccountingStyleRequest(built.bytes, SECRET).code).toBe(original[0]);
  });

  test('MA inserted first on request, verifiable', () => {
    const built = buildAccountingStyleRequest({ code: RadiusCode.CoaRequest, identifier: 9, attributes: [stringAttribute(1, 'nemo')], secret: SECRET, messageAuthenticator: true });
    expect(decodePacket(built.bytes).attributes[0]!.type).toBe(80);
    expect(verifyAccountingStyleRequest(built.bytes, SECRET).identifier).toBe(9);
  });

  test('tampering is detected', () => {
    const bytes = hex(field('request_authenticator_md5_captured', 'coa_request_with_ma'));
    bytes[25] = bytes[25]! ^ 1;
    expect(() => verifyAccountingStyleRequest(bytes, SECRET)).toThrow(expect.objectContaining({ code: 'bad-authenticator' }));
  });
});

describe('verifyResponse', () => {
  const papRa = hex(field('message_authenticator_pap', 'request_authenticator'));
  test('accepts the MA-first Access-Accept', () => {
    const p = verifyResponse(hex(field('message_authenticator_pap', 'access_accept_ma_first')), papRa, SECRET);
    expect(p.code).toBe(2);
    expect(p.attributes[0]!.type).toBe(80);
  });
  test('accepts FreeRADIUS 3.2.1 challenge with MA after EAP-Message', () => {
    const p = verifyResponse(hex(field('eap_and_mppe', 'freeradius_3.2.1_access_challenge_captured')), hex(field('eap_and_mppe', 'request_authenticator')), SECRET);
    expect(p.code).toBe(11);
  });
  test('missing MA refused by default, accepted when not required', () => {
    const noMa = hex(field('message_authenticator_pap', 'freeradius_3.2.1_access_accept_no_ma'));
    expect(() => verifyResponse(noMa, papRa, SECRET)).toThrow(expect.objectContaining({ code: 'missing-message-authenticator' }));
    expect(verifyResponse(noMa, papRa, SECRET, { requireMessageAuthenticator: false }).code).toBe(2);
    const acct = hex(field('rfc5997_examples', '6.2_accounting_response_corrected'));
    const acctRa = hex(field('rfc5997_examples', '6.2_status_server_acct_port')).subarray(4, 20);
    expect(verifyResponse(acct, acctRa, SECRET, { requireMessageAuthenticator: false }).code).toBe(5);
  });
  test('wrong request authenticator, wrong secret, bad MA with a valid Response Authenticator', () => {
    const reply = hex(field('message_authenticator_pap', 'access_accept_ma_first'));
    expect(() => verifyResponse(reply, new Uint8Array(16), SECRET)).toThrow(expect.objectContaining({ code: 'bad-authenticator' }));
    expect(() => verifyResponse(reply, papRa, 'other')).toThrow(expect.objectContaining({ code: 'bad-authenticator' }));
    // A server that signs the Response Authenticator but botches the MA must still be refused.
    const forged = reply.slice();
    forged[22] = forged[22]! ^ 1;
    forged.set(papRa, 4);
    forged.set(computeResponseAuthenticator(forged, papRa, SECRET), 4);
    expect(() => verifyResponse(forged, papRa, SECRET)).toThrow(expect.objectContaining({ code: 'bad-message-authenticator' }));
  });
  test('malformed bytes throw RadiusProtocolError', () => {
    expect(() => verifyResponse(new Uint8Array(5), papRa, SECRET)).toThrow(RadiusProtocolError);
  });
});

test('verifyResponse / verifyAccountingStyleRequest on arbitrary or corrupted bytes throw only RadiusProtocolError', () => {
  const valid = hex(field('message_authenticator_pap', 'access_accept_ma_first'));
  const papRa = hex(field('message_authenticator_pap', 'request_authenticator'));
  const corrupted = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([at, byte, cut]) => {
    const b = valid.slice();
    b[at % b.length] = byte;
    return b.subarray(0, 1 + (cut % b.length));
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), corrupted), (bytes) => {
      for (const verify of [() => verifyResponse(bytes, papRa, SECRET), () => verifyAccountingStyleRequest(bytes, SECRET)]) {
        try {
          verify();
        } catch (e) {
          if (!(e instanceof RadiusProtocolError)) throw e;
        }
      }
    }),
    { numRuns: 500 },
  );
});
