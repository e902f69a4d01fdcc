import { createHmac } from 'node:crypto';
import { RadiusProtocolError } from '../../src/radius/errors.js';
import {
  checkMessageAuthenticator,
  computeMessageAuthenticator,
  signMessageAuthenticator,
  verifyMessageAuthenticator,
} from '../../src/radius/message-authenticator.js';
import { SECRET, field, hex, toHex } from './fixtures.js';

const PAP = 'message_authenticator_pap';
const papRa = hex(field(PAP, 'request_authenticator'));

describe('Message-Authenticator vectors', () => {
  test('PAP Access-Request: HMAC input and value', () => {
    const input = hex(field(PAP, 'access_request_ma_input'));
    expect(createHmac('md5', SECRET).update(input).digest('hex')).toBe(field(PAP, 'access_request_ma'));
    const request = hex(field(PAP, 'access_request'));
    expect(toHex(computeMessageAuthenticator(request, SECRET))).toBe(field(PAP, 'access_request_ma'));
    expect(checkMessageAuthenticator(request, SECRET)).toBe('valid');
  });

  test('MA-first Access-Accept: HMAC over the reply with the request authenticator in the header', () => {
    const input = hex(field(PAP, 'access_accept_ma_input'));
    expect(createHmac('md5', SECRET).update(input).digest('hex')).toBe(field(PAP, 'access_accept_ma'));
    const reply = hex(field(PAP, 'access_accept_ma_first'));
    expect(toHex(computeMessageAuthenticator(reply, SECRET, papRa))).toBe(field(PAP, 'access_accept_ma'));
    expect(checkMessageAuthenticator(reply, SECRET, papRa)).toBe('valid');
    // Without substituting the request authenticator the HMAC covers the wrong header.
    expect(checkMessageAuthenticator(reply, SECRET)).toBe('invalid');
  });

  const requests: Array<[string, string]> = [
    ['rfc5997_examples', '6.1_status_server'],
    ['rfc5997_examples', '6.2_status_server_acct_port'],
    ['rfc5997_examples', '6.3_status_server'],
    ['eap_and_mppe', 'access_request_eap_identity'],
    ['radclient_exchange', 'access_request_from_radclient'],
  ];
  test.each(requests)('request %s %s verifies (MA at any position)', (group, name) => {
    const bytes = hex(field(group, name));
    expect(checkMessageAuthenticator(bytes, SECRET)).toBe('valid');
    expect(checkMessageAuthenticator(bytes, 'not-the-secret')).toBe('invalid');
  });

  const replies: Array<[string, string, Uint8Array]> = [
    ['eap_and_mppe', 'freeradius_3.2.1_access_challenge_captured', hex(field('eap_and_mppe', 'request_authenticator'))],
    ['eap_and_mppe', 'access_accept', hex(field('eap_and_mppe', 'request_authenticator'))],
    ['mppe_16_octet_keys_mschapv2', 'access_accept', hex(field('mppe_16_octet_keys_mschapv2', 'request_authenticator'))],
    ['radclient_exchange', 'access_accept_built_here', hex(field('radclient_exchange', 'access_request_from_radclient')).subarray(4, 20)],
  ];
  test.each(replies)('reply %s %s verifies against the request authenticator', (group, name, ra) => {
    expect(checkMessageAuthenticator(hex(field(group, name)), SECRET, ra)).toBe('valid');
  });

  test('CoA-Request: HMAC with a zero Authenticator field (RFC 5176 §3.4)', () => {
    const coa = hex(field('request_authenticator_md5_captured', 'coa_request_with_ma'));
    expect(checkMessageAuthenticator(coa, SECRET, new Uint8Array(16))).toBe('valid');
    expect(checkMessageAuthenticator(coa, SECRET)).toBe('invalid');
  });
});

describe('Message-Authenticator handling', () => {
  test('signMessageAuthenticator writes the value in place', () => {
    const request = hex(field(PAP, 'access_request_ma_input'));
    signMessageAuthenticator(request, SECRET);
    expect(toHex(request)).toBe(field(PAP, 'access_request'));
  });

  test('any flipped bit is detected', () => {
    const original = hex(field(PAP, 'access_request'));
    for (let i = 0; i < original.length; i++) {
      const copy = original.slice();
      copy[i] = copy[i]! ^ 0x01;
      let status: string;
      try {
        status = checkMessageAuthenticator(copy, SECRET);
      } catch (e) {
        // Flipping a length octet may make the packet malformed: also a rejection.
        expect(e).toBeInstanceOf(RadiusProtocolError);
        continue;
      }
      expect(status).not.toBe('valid');
    }
  });

  test('absent, repeated and required', () => {
    const noMa = hex(field(PAP, 'freeradius_3.2.1_access_accept_no_ma'));
    expect(checkMessageAuthenticator(noMa, SECRET, papRa)).toBe('absent');
    expect(() => verifyMessageAuthenticator(noMa, SECRET, papRa)).toThrow(expect.objectContaining({ code: 'missing-message-authenticator' }));
    expect(() => computeMessageAuthenticator(noMa, SECRET)).toThrow(RadiusProtocolError);

    const twice = hex(field(PAP, 'access_request') + '5012' + '00'.repeat(16));
    twice[3] = twice.length;
    expect(checkMessageAuthenticator(twice, SECRET)).toBe('invalid');

    const bad = hex(field(PAP, 'access_request'));
    bad[25] = bad[25]! ^ 0xff;
    expect(() => verifyMessageAuthenticator(bad, SECRET)).toThrow(expect.objectContaining({ code: 'bad-message-authenticator' }));
  });
});
