import {
  AttributeType, RadiusProtocolError, attributeDataType, checkMessageAuthenticator, decodeInteger, decodeIpv4, decodeIpv6,
  decodePacket, decodeString, decodeTaggedInteger, decodeTaggedString, decodeTunnelPassword, decodeUserPassword,
  decodeVendorSpecific, encodePacket, getMppeKeys, getVlan, joinEapMessage, readPacketLength, saltDecrypt,
  signMessageAuthenticator, verifyAccountingStyleRequest, verifyResponse,
} from '../../../src/radius/index.js';
import { eapInputFrom } from '../../../src/server/radius-eap-bridge.js';
import { invariant, type FuzzTarget } from '../engine/target.js';
import { tolerate } from './tolerate.js';

const SECRET = 'xyzzy5461';
const REQUEST_AUTHENTICATOR = new Uint8Array(16).fill(0x5a);
const expected = (err: unknown): boolean => err instanceof RadiusProtocolError;

/**
 * A datagram on the authentication port: the packet codec, the Message-Authenticator check (as
 * received, and re-signed so the code past a valid MA runs too), every attribute through the decoder
 * its dictionary type names, the EAP bridge's view of the request, and the client-side reply checks.
 * Invariant: a packet that decodes re-encodes to exactly its Length octets.
 */
export const radiusPacket: FuzzTarget = {
  name: 'radius-packet',
  description: 'RADIUS packet decoder, attribute value decoders, Message-Authenticator, EAP bridge input',
  maxLength: 4200,
  expected,
  hints: {
    tlv: [{ offset: 20, typeOctets: 1, lengthOctets: 1, lengthIncludesHeader: true }],
    // Length = what arrived, so the attribute walk is reached instead of the header check.
    fixup: (d) => {
      if (d.length < 20) return d;
      const out = new Uint8Array(d);
      const n = Math.min(out.length, 4096);
      out[2] = n >> 8;
      out[3] = n & 0xff;
      return out;
    },
    dictionary: [
      Uint8Array.of(80, 18), Uint8Array.of(79), Uint8Array.of(26, 12, 0, 0, 1, 55), Uint8Array.of(64, 6, 0, 0, 0, 13),
      Uint8Array.of(65, 6, 0, 0, 0, 6), Uint8Array.of(81, 5, 0x31, 0x30, 0x30), Uint8Array.of(24), Uint8Array.of(33),
    ],
  },
  async setup() {
    return (data) => {
      const packet = decodePacket(data);
      const exact = data.subarray(0, readPacketLength(data));
      invariant(Buffer.from(encodePacket(packet)).equals(Buffer.from(exact)), 'decoded packet does not re-encode to its own octets');

      const status = tolerate(expected, () => checkMessageAuthenticator(exact, SECRET));
      if (status !== undefined && packet.attributes.filter((a) => a.type === 80).length === 1) {
        const signed = new Uint8Array(exact);
        signMessageAuthenticator(signed, SECRET);
        invariant(checkMessageAuthenticator(signed, SECRET) === 'valid', 'a packet signed with the secret does not verify');
        signed[signed.length - 1]! ^= 1;
        const after = checkMessageAuthenticator(signed, SECRET);
        invariant(after !== 'absent', 'flipping the last octet removed the Message-Authenticator');
      }

      for (const a of packet.attributes) {
        tolerate(expected, () => {
          switch (attributeDataType(a.type)) {
            case 'string':
              return decodeString(a.value);
            case 'integer':
            case 'date':
              return decodeInteger(a.value);
            case 'ipaddr':
              return decodeIpv4(a.value);
            case 'ipv6addr':
              return decodeIpv6(a.value);
            case 'user-password':
              return decodeUserPassword(a.value, SECRET, packet.authenticator);
            case 'tagged-integer':
              return decodeTaggedInteger(a.value);
            case 'tagged-string':
              return decodeTaggedString(a.value);
            case 'tagged-salted':
              return decodeTunnelPassword(a.value, SECRET, REQUEST_AUTHENTICATOR);
            case 'vsa': {
              const vsa = decodeVendorSpecific(a.value);
              for (const s of vsa.attributes) tolerate(expected, () => saltDecrypt(s.value, SECRET, REQUEST_AUTHENTICATOR));
              return vsa;
            }
            default:
              return a.value;
          }
        });
      }
      tolerate(expected, () => getMppeKeys(packet, SECRET, REQUEST_AUTHENTICATOR));
      tolerate(expected, () => getVlan(packet));
      const eap = joinEapMessage(packet);
      if (eap !== undefined) invariant(eap.length === packet.attributes.filter((a) => a.type === AttributeType.EapMessage).reduce((n, a) => n + a.value.length, 0), 'joined EAP-Message has the wrong length');
      tolerate(expected, () => eapInputFrom(packet, { name: 'fuzz', address: '127.0.0.1' }));
      tolerate(expected, () => verifyResponse(data, REQUEST_AUTHENTICATOR, SECRET, { requireMessageAuthenticator: false }));
      tolerate(expected, () => verifyAccountingStyleRequest(data, SECRET));
    };
  },
};

const VECTOR_PACKETS: Record<string, string[]> = {
  rfc2865_examples: ['7.1_access_request', '7.1_access_accept', '7.2_access_request_chap', '7.2_access_accept', '7.3_access_request_1', '7.3_access_challenge', '7.3_access_reject'],
  rfc5997_examples: ['6.1_status_server', '6.1_access_accept', '6.2_status_server_acct_port', '6.3_status_server', '6.3_access_accept'],
  message_authenticator_pap: ['access_request', 'freeradius_3.2.1_access_accept_no_ma', 'access_accept_ma_first'],
  eap_and_mppe: ['access_request_eap_identity', 'freeradius_3.2.1_access_challenge_captured', 'access_accept'],
  mppe_16_octet_keys_mschapv2: ['access_accept'],
  radclient_exchange: ['access_request_from_radclient', 'access_accept_built_here'],
  request_authenticator_md5_captured: ['disconnect_request', 'coa_request_with_ma', 'accounting_request'],
};

radiusPacket.makeSeeds = async () => {
  const { buildAccessRequest, buildAccountingStyleRequest, encodeAccessReply, splitEapMessage, stringAttribute, integerAttribute, vlanAttributes, encodeVendorSpecific, encodeTunnelPassword, RadiusCode } = await import('../../../src/radius/index.js');
  const { hex, readJsonFixture } = await import('./fixtures.js');
  const vectors = readJsonFixture<Record<string, Record<string, string>>>('test', 'radius', 'fixtures', 'radius-vectors.json');
  const seeds = Object.entries(VECTOR_PACKETS).flatMap(([group, names]) =>
    names.map((n) => ({ name: `${group}-${n}`.replace(/[^a-z0-9._-]/gi, '_'), data: hex(vectors[group]![n]!), comment: `../shared/specs/radius-vectors.json ${group}.${n}` })),
  );
  const ra = new Uint8Array(16).fill(7);
  const eap = new Uint8Array(600).map((_, i) => i & 0xff);
  eap.set([2, 9, 600 >> 8, 600 & 0xff, 13, 0x80, 0, 0, 2, 83], 0);
  seeds.push({
    name: 'ours-access-request-eap-600',
    data: buildAccessRequest({
      identifier: 9, secret: SECRET, authenticator: ra,
      attributes: [stringAttribute(1, 'device@tls.test'), stringAttribute(31, '02-00-00-00-00-01'), stringAttribute(32, 'ap-1'), integerAttribute(12, 1400), { type: 4, value: Uint8Array.of(10, 0, 0, 1) }, ...splitEapMessage(eap), { type: 24, value: new Uint8Array(16).fill(0xab) }, { type: 33, value: Uint8Array.of(1, 2, 3) }],
    }).bytes,
    comment: 'buildAccessRequest: Access-Request with a 600-octet EAP-Message in three attributes, State, Proxy-State, NAS facts',
  });
  seeds.push({
    name: 'ours-access-request-pap',
    data: buildAccessRequest({ identifier: 3, secret: SECRET, authenticator: ra, attributes: [stringAttribute(1, 'alice')], userPassword: 'password' }).bytes,
    comment: 'buildAccessRequest: PAP with User-Password hidden under the secret',
  });
  const request = { code: RadiusCode.AccessRequest, identifier: 5, authenticator: REQUEST_AUTHENTICATOR, attributes: [] };
  seeds.push({
    name: 'ours-access-accept-keys-vlan',
    data: encodeAccessReply(
      { code: RadiusCode.AccessAccept, mppe: { recv: new Uint8Array(32).fill(1), send: new Uint8Array(32).fill(2) }, eapMessage: Uint8Array.of(3, 9, 0, 4), attributes: [...vlanAttributes(100), encodeVendorSpecific(9, [{ vendorType: 1, value: Uint8Array.of(0x61, 0x62) }]), { type: 69, value: encodeTunnelPassword('tunnelpw', 1, SECRET, REQUEST_AUTHENTICATOR, Uint8Array.of(0x80, 0x01)) }] },
      request,
      SECRET,
    ),
    comment: 'encodeAccessReply: Access-Accept with MS-MPPE keys, VLAN 100, a vendor attribute and a Tunnel-Password',
  });
  seeds.push({
    name: 'ours-accounting-request',
    data: buildAccountingStyleRequest({ code: RadiusCode.AccountingRequest, identifier: 1, secret: SECRET, messageAuthenticator: true, attributes: [integerAttribute(40, 1), stringAttribute(44, 'session-1'), stringAttribute(1, 'alice')] }).bytes,
    comment: 'buildAccountingStyleRequest: Accounting-Request Start with a Message-Authenticator',
  });
  return seeds;
};
