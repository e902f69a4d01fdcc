import {
  computeAccountingAuthenticator,
  computeResponseAuthenticator,
  constantTimeEqual,
  randomAuthenticator,
  verifyAccountingAuthenticator,
  verifyResponseAuthenticator,
} from '../../src/radius/authenticator.js';
import { SECRET, field, hex, nestedField, toHex } from './fixtures.js';

const ra = (group: string, name: string): Uint8Array => hex(field(group, name)).subarray(4, 20);
/** Expected value = the authenticator the captured/transcribed reply carries. */
const CARRIED = undefined;
const ex = (name: string): string => nestedField('rfc2865_examples', 'expected', name);

describe('Response Authenticator (RFC 2865 §3)', () => {
  const cases: Array<[string, string, Uint8Array, string | undefined]> = [
    ['RFC 2865 §7.1 Access-Accept', field('rfc2865_examples', '7.1_access_accept'), ra('rfc2865_examples', '7.1_access_request'), ex('7.1_response_authenticator')],
    ['RFC 2865 §7.2 Access-Accept (CHAP)', field('rfc2865_examples', '7.2_access_accept'), ra('rfc2865_examples', '7.2_access_request_chap'), ex('7.2_response_authenticator')],
    ['RFC 2865 §7.3 Access-Challenge', field('rfc2865_examples', '7.3_access_challenge'), ra('rfc2865_examples', '7.3_access_request_1'), ex('7.3_challenge_response_authenticator')],
    // The printed second request is malformed, but its authenticator octets are intact.
    ['RFC 2865 §7.3 Access-Reject', field('rfc2865_examples', '7.3_access_reject'), ra('rfc2865_examples', '7.3_access_request_2_as_printed'), ex('7.3_reject_response_authenticator')],
    ['RFC 5997 §6.1 Access-Accept', field('rfc5997_examples', '6.1_access_accept'), ra('rfc5997_examples', '6.1_status_server'), CARRIED],
    ['RFC 5997 §6.2 Accounting-Response (corrected code 5)', field('rfc5997_examples', '6.2_accounting_response_corrected'), ra('rfc5997_examples', '6.2_status_server_acct_port'), CARRIED],
    ['RFC 5997 §6.3 Access-Accept', field('rfc5997_examples', '6.3_access_accept'), ra('rfc5997_examples', '6.3_status_server'), CARRIED],
    ['FreeRADIUS PAP Access-Accept without MA', field('message_authenticator_pap', 'freeradius_3.2.1_access_accept_no_ma'), hex(field('message_authenticator_pap', 'request_authenticator')), CARRIED],
    ['designed MA-first Access-Accept', field('message_authenticator_pap', 'access_accept_ma_first'), hex(field('message_authenticator_pap', 'request_authenticator')), field('message_authenticator_pap', 'access_accept_response_authenticator')],
    ['FreeRADIUS captured Access-Challenge', field('eap_and_mppe', 'freeradius_3.2.1_access_challenge_captured'), hex(field('eap_and_mppe', 'request_authenticator')), CARRIED],
    ['EAP-Success Access-Accept with MPPE', field('eap_and_mppe', 'access_accept'), hex(field('eap_and_mppe', 'request_authenticator')), CARRIED],
    ['16-octet MPPE Access-Accept', field('mppe_16_octet_keys_mschapv2', 'access_accept'), hex(field('mppe_16_octet_keys_mschapv2', 'request_authenticator')), CARRIED],
    ['Access-Accept sent to radclient', field('radclient_exchange', 'access_accept_built_here'), ra('radclient_exchange', 'access_request_from_radclient'), CARRIED],
  ];

  test.each(cases)('%s', (_label, replyHex, requestAuthenticator, expected) => {
    const reply = hex(replyHex);
    const want = expected ?? replyHex.slice(8, 40);
    expect(replyHex.slice(8, 40)).toBe(want);
    expect(toHex(computeResponseAuthenticator(reply, requestAuthenticator, SECRET))).toBe(want);
    expect(verifyResponseAuthenticator(reply, requestAuthenticator, SECRET)).toBe(true);
    expect(verifyResponseAuthenticator(reply, requestAuthenticator, 'wrong-secret')).toBe(false);
    const other = requestAuthenticator.slice();
    other[0] = other[0]! ^ 1;
    expect(verifyResponseAuthenticator(reply, other, SECRET)).toBe(false);
  });

  test('RFC 5997 §6.2 reply as printed (code 2) does not verify: the RFC typo', () => {
    const printed = hex('02' + field('rfc5997_examples', '6.2_accounting_response_corrected').slice(2));
    expect(verifyResponseAuthenticator(printed, ra('rfc5997_examples', '6.2_status_server_acct_port'), SECRET)).toBe(false);
  });

  test('secret as bytes equals secret as string', () => {
    const reply = hex(field('rfc2865_examples', '7.1_access_accept'));
    expect(verifyResponseAuthenticator(reply, ra('rfc2865_examples', '7.1_access_request'), Buffer.from(SECRET))).toBe(true);
  });

  test('padding after Length does not change the result', () => {
    const reply = hex(field('rfc2865_examples', '7.1_access_accept') + '0000');
    expect(verifyResponseAuthenticator(reply, ra('rfc2865_examples', '7.1_access_request'), SECRET)).toBe(true);
  });
});

describe('Accounting-style Request Authenticator (RFC 2866 §3, RFC 5176 §2.3)', () => {
  test.each(['disconnect_request', 'coa_request_with_ma', 'accounting_request'])('radclient %s', (name) => {
    const bytes = hex(field('request_authenticator_md5_captured', name));
    expect(toHex(computeAccountingAuthenticator(bytes, SECRET))).toBe(toHex(bytes.subarray(4, 20)));
    expect(verifyAccountingAuthenticator(bytes, SECRET)).toBe(true);
    expect(verifyAccountingAuthenticator(bytes, 'xyzzy5462')).toBe(false);
  });
});

describe('helpers', () => {
  test('randomAuthenticator gives 16 fresh octets', () => {
    const a = randomAuthenticator();
    const b = randomAuthenticator();
    expect(a).toHaveLength(16);
    expect(toHex(a)).not.toBe(toHex(b));
  });
  test('constantTimeEqual handles unequal lengths', () => {
    expect(constantTimeEqual(new Uint8Array(2), new Uint8Array(3))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
  });
});

