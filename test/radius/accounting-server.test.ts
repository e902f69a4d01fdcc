/**
 * The accounting port: RFC 5997 §6.2's Status-Server answered byte for byte, a radclient-built
 * Accounting-Request (RFC 2866 authenticator) recorded and answered, and what must stay silent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccountingServer, type AccountingRequestContext } from '../../src/radius/accounting-server.js';
import { integerAttribute, stringAttribute } from '../../src/radius/attributes.js';
import { AttributeType } from '../../src/radius/dictionary.js';
import { RadiusCode, decodePacket } from '../../src/radius/packet.js';
import { buildAccountingStyleRequest, verifyResponse } from '../../src/radius/request.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { UdpPeer } from './udp-helpers.js';

const vectors = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'radius-vectors.json'), 'utf8')) as {
  rfc5997_examples: Record<string, string>;
  request_authenticator_md5_captured: Record<string, string>;
};
const SECRET = 'xyzzy5461';
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

let server: AccountingServer;
let port: number;
let nas: UdpPeer;
let recorded: AccountingRequestContext[];
let answer: boolean | 'throw';
let log: MemoryLog;

beforeEach(async () => {
  recorded = [];
  answer = true;
  log = new MemoryLog();
  server = new AccountingServer({
    clients: [{ name: 'nas', address: '127.0.0.1', secret: SECRET }],
    log,
    handler: async (req) => {
      recorded.push(req);
      if (answer === 'throw') throw new Error('disk full');
      return answer;
    },
  });
  port = (await server.listen('127.0.0.1', 0)).port;
  nas = await UdpPeer.open();
});
afterEach(async () => {
  await server.close();
  await nas.close();
});

test('RFC 5997 §6.2: Status-Server on the accounting port gets the Accounting-Response of the RFC, octet for octet', async () => {
  await nas.send(hex(vectors.rfc5997_examples['6.2_status_server_acct_port']!), port);
  const reply = await nas.nextMessage();
  expect(Buffer.from(reply!).toString('hex')).toBe(vectors.rfc5997_examples['6.2_accounting_response_corrected']);
  expect(recorded).toHaveLength(0);
  expect(server.stats.statusServer).toBe(1);
});

test('Status-Server without Message-Authenticator is dropped', async () => {
  const bytes = hex(vectors.rfc5997_examples['6.2_status_server_acct_port']!).subarray(0, 20);
  bytes[3] = 20;
  await nas.send(bytes, port);
  expect(await nas.nextMessage(300)).toBeUndefined();
  expect(server.stats.dropped['missing-message-authenticator']).toBe(1);
});

test('a radclient Accounting-Request is verified, recorded and answered with a verifiable Accounting-Response', async () => {
  const request = hex(vectors.request_authenticator_md5_captured.accounting_request!);
  await nas.send(request, port);
  const reply = await nas.nextMessage();
  const packet = decodePacket(request);
  const response = verifyResponse(reply!, packet.authenticator, SECRET, { requireMessageAuthenticator: false });
  expect(response.code).toBe(RadiusCode.AccountingResponse);
  expect(response.identifier).toBe(packet.identifier);
  expect(response.attributes).toEqual([]);
  expect(recorded).toHaveLength(1);
  expect(recorded[0]!.client.name).toBe('nas');

  // A retransmission gets the same octets and is not recorded twice (RFC 5080 §2.2.2).
  await nas.send(request, port);
  expect(Buffer.from((await nas.nextMessage())!).equals(Buffer.from(reply!))).toBe(true);
  expect(recorded).toHaveLength(1);
  expect(server.stats.duplicates).toBe(1);
});

test('Proxy-State is echoed in order; nothing else comes back', async () => {
  const built = buildAccountingStyleRequest({
    code: RadiusCode.AccountingRequest,
    identifier: 9,
    secret: SECRET,
    attributes: [integerAttribute(AttributeType.AcctStatusType, 1), stringAttribute(AttributeType.AcctSessionId, 's1'), { type: AttributeType.ProxyState, value: Uint8Array.of(1) }, stringAttribute(AttributeType.UserName, 'u'), { type: AttributeType.ProxyState, value: Uint8Array.of(2, 2) }],
  });
  await nas.send(built.bytes, port);
  const response = verifyResponse((await nas.nextMessage())!, built.authenticator, SECRET, { requireMessageAuthenticator: false });
  expect(response.attributes).toEqual([{ type: AttributeType.ProxyState, value: Uint8Array.of(1) }, { type: AttributeType.ProxyState, value: Uint8Array.of(2, 2) }]);
});

test('a wrong secret, an unknown client, a handler that could not record: no answer', async () => {
  const wrong = buildAccountingStyleRequest({ code: RadiusCode.AccountingRequest, identifier: 1, secret: 'not-the-secret', attributes: [integerAttribute(AttributeType.AcctStatusType, 1)] });
  await nas.send(wrong.bytes, port);
  expect(await nas.nextMessage(300)).toBeUndefined();
  expect(server.stats.dropped['bad-authenticator']).toBe(1);
  expect(log.lines.some((l) => l.level === 'warn' && String(l.msg).includes('wrong secret?'))).toBe(true);
  expect(recorded).toHaveLength(0);

  for (const outcome of [false, 'throw'] as const) {
    answer = outcome;
    const ok = buildAccountingStyleRequest({ code: RadiusCode.AccountingRequest, identifier: outcome === false ? 2 : 3, secret: SECRET, attributes: [integerAttribute(AttributeType.AcctStatusType, 1)] });
    await nas.send(ok.bytes, port);
    expect(await nas.nextMessage(300)).toBeUndefined();
  }
  expect(server.stats.dropped['not-recorded']).toBe(2);
  // Not cached: once the store works again, the NAS's retransmission is recorded and answered.
  answer = true;
  const again = buildAccountingStyleRequest({ code: RadiusCode.AccountingRequest, identifier: 2, secret: SECRET, attributes: [integerAttribute(AttributeType.AcctStatusType, 1)] });
  await nas.send(again.bytes, port);
  expect(verifyResponse((await nas.nextMessage())!, again.authenticator, SECRET, { requireMessageAuthenticator: false }).code).toBe(RadiusCode.AccountingResponse);

  server.setClients([{ name: 'other', address: '10.0.0.0/8', secret: SECRET }]);
  await nas.send(again.bytes, port);
  expect(await nas.nextMessage(300)).toBeUndefined();
  expect(server.stats.dropped['unknown-client']).toBe(1);
});

test('Access-Request on the accounting port is dropped', async () => {
  await nas.send(hex(vectors.rfc5997_examples['6.1_status_server']!).map((b, i) => (i === 0 ? 1 : b)), port);
  expect(await nas.nextMessage(300)).toBeUndefined();
  expect(server.stats.dropped['unexpected-code']).toBe(1);
});
