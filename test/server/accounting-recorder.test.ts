/**
 * Accounting-Requests into session rows and audit lines: Start, Interim-Update, Stop; a lost
 * Start; late and repeated records; Accounting-On; Gigawords; what is refused.
 */
import { integerAttribute, ipv4Attribute, stringAttribute } from '../../src/radius/attributes.js';
import { AcctStatusType, AttributeType } from '../../src/radius/dictionary.js';
import type { RadiusAttribute, RadiusPacket } from '../../src/radius/packet.js';
import { createAccountingRecorder } from '../../src/server/accounting-recorder.js';
import { openSqlite, type SqliteDatabase } from '../../src/store/sqlite/database.js';
import { SqliteAccountingStore } from '../../src/store/sqlite/accounting.js';
import { SqliteAuditStore } from '../../src/store/sqlite/audit.js';
import { MemoryLog } from '../helpers/silent-log.js';

let db: SqliteDatabase;
let store: SqliteAccountingStore;
let audit: SqliteAuditStore;
let clock: Date;
let record: (attrs: RadiusAttribute[]) => Promise<boolean>;

beforeEach(() => {
  db = openSqlite(':memory:');
  store = new SqliteAccountingStore(db);
  audit = new SqliteAuditStore(db);
  clock = new Date('2026-03-01T10:00:00Z');
  const handler = createAccountingRecorder({ store, audit, log: new MemoryLog(), now: () => clock });
  let id = 0;
  record = (attributes) => {
    const packet: RadiusPacket = { code: 4, identifier: ++id & 0xff, authenticator: new Uint8Array(16), attributes };
    return handler({ packet, client: { name: 'ap-1', address: '192.0.2.7', port: 1000 } });
  };
});
afterEach(() => db.close());

const status = (t: number) => integerAttribute(AttributeType.AcctStatusType, t);
const session = (id: string) => stringAttribute(AttributeType.AcctSessionId, id);
const base = (id = 'S1') => [session(id), stringAttribute(AttributeType.NasIdentifier, 'ap-1.example'), stringAttribute(AttributeType.UserName, 'alice'), stringAttribute(AttributeType.CallingStationId, '02-00-00-00-00-01')];
const events = async () => (await audit.recent(50)).map((e) => e.event).reverse();

test('Start, Interim-Update, Stop: one session row; start and stop audited', async () => {
  expect(await record([status(AcctStatusType.Start), ...base(), ipv4Attribute(AttributeType.FramedIpAddress, '10.1.2.3')])).toBe(true);
  let s = (await store.get('ap-1.example', 'S1'))!;
  expect(s).toMatchObject({ status: 'active', userName: 'alice', callingStationId: '02-00-00-00-00-01', framedIpAddress: '10.1.2.3', clientName: 'ap-1', startedAt: clock });

  clock = new Date('2026-03-01T10:05:00Z');
  expect(await record([status(AcctStatusType.InterimUpdate), ...base(), integerAttribute(AttributeType.AcctSessionTime, 300), integerAttribute(AttributeType.AcctInputOctets, 1000)])).toBe(true);
  s = (await store.get('ap-1.example', 'S1'))!;
  expect(s).toMatchObject({ status: 'active', sessionTime: 300, inputOctets: 1000, updatedAt: clock, framedIpAddress: '10.1.2.3' });

  clock = new Date('2026-03-01T10:10:00Z');
  expect(await record([
    status(AcctStatusType.Stop), ...base(), integerAttribute(AttributeType.AcctSessionTime, 600),
    integerAttribute(AttributeType.AcctInputOctets, 5), integerAttribute(AttributeType.AcctInputGigawords, 2),
    integerAttribute(AttributeType.AcctOutputOctets, 7000), integerAttribute(AttributeType.AcctTerminateCause, 1),
  ])).toBe(true);
  s = (await store.get('ap-1.example', 'S1'))!;
  expect(s).toMatchObject({ status: 'stopped', sessionTime: 600, inputOctets: 2 * 2 ** 32 + 5, outputOctets: 7000, terminateCause: 1, stoppedAt: clock });
  expect(await events()).toEqual(['accounting.start', 'accounting.stop']);
  expect((await audit.recent(1))[0]).toMatchObject({ subject: 'alice', detail: { nas: 'ap-1.example', sessionId: 'S1', sessionTime: 600, terminateCause: 1 } });
});

test('a lost Start: the first Interim-Update opens the session, dated back by its session time', async () => {
  expect(await record([status(AcctStatusType.InterimUpdate), ...base(), integerAttribute(AttributeType.AcctSessionTime, 120)])).toBe(true);
  expect((await store.get('ap-1.example', 'S1'))!.startedAt).toEqual(new Date(clock.getTime() - 120_000));
  expect((await audit.recent(1))[0]).toMatchObject({ event: 'accounting.start', detail: { firstSeenIn: 'interim' } });
});

test('late and repeated records change nothing; Acct-Delay-Time dates the event', async () => {
  await record([status(AcctStatusType.Start), ...base(), integerAttribute(AttributeType.AcctDelayTime, 30)]);
  expect((await store.get('ap-1.example', 'S1'))!.startedAt).toEqual(new Date(clock.getTime() - 30_000));
  await record([status(AcctStatusType.Start), ...base()]);
  await record([status(AcctStatusType.Stop), ...base(), integerAttribute(AttributeType.AcctSessionTime, 60)]);
  await record([status(AcctStatusType.Stop), ...base(), integerAttribute(AttributeType.AcctSessionTime, 99)]);
  await record([status(AcctStatusType.InterimUpdate), ...base(), integerAttribute(AttributeType.AcctSessionTime, 50)]);
  expect(await store.get('ap-1.example', 'S1')).toMatchObject({ status: 'stopped', sessionTime: 60 });
  expect(await events()).toEqual(['accounting.start', 'accounting.stop']);
});

test('Accounting-On closes the NAS\'s open sessions, not other NASes\'', async () => {
  await record([status(AcctStatusType.Start), ...base('A')]);
  await record([status(AcctStatusType.Start), ...base('B')]);
  await record([status(AcctStatusType.Start), session('C'), stringAttribute(AttributeType.NasIdentifier, 'ap-2.example')]);
  expect(await record([status(AcctStatusType.AccountingOn), stringAttribute(AttributeType.NasIdentifier, 'ap-1.example')])).toBe(true);
  expect((await store.list({ status: 'active', limit: 10 })).map((s) => s.sessionId)).toEqual(['C']);
  expect((await audit.recent(1))[0]).toMatchObject({ event: 'accounting.nas-on', subject: 'ap-1.example', detail: { sessionsClosed: 2 } });
});

test('the NAS is named by NAS-Identifier, else NAS-IP-Address, else the source address', async () => {
  await record([status(AcctStatusType.Start), session('X'), ipv4Attribute(AttributeType.NasIpAddress, '198.51.100.1')]);
  await record([status(AcctStatusType.Start), session('Y')]);
  expect(await store.get('198.51.100.1', 'X')).toBeDefined();
  expect(await store.get('192.0.2.7', 'Y')).toBeDefined();
});

test('without Acct-Status-Type or Acct-Session-Id, or with a malformed integer: not recorded (no answer)', async () => {
  expect(await record([...base()])).toBe(false);
  expect(await record([status(AcctStatusType.Start)])).toBe(false);
  expect(await record([status(AcctStatusType.Start), ...base(), { type: AttributeType.AcctSessionTime, value: Uint8Array.of(1, 2) }])).toBe(false);
  expect(await store.list({ limit: 10 })).toEqual([]);
  // Types we do not keep (here: Failed, 15) are acknowledged.
  expect(await record([status(15), ...base()])).toBe(true);
});

test('purgeBefore removes sessions last heard of before the cutoff and keeps the others', async () => {
  await record([status(AcctStatusType.Start), ...base('old')]);
  await record([status(AcctStatusType.Stop), ...base('old')]);
  const cutoff = new Date(clock.getTime() + 1000);
  clock = new Date(clock.getTime() + 2000);
  await record([status(AcctStatusType.Start), ...base('open')]);
  expect(await store.purgeBefore(cutoff)).toBe(1);
  expect((await store.list({ limit: 10 })).map((s) => s.sessionId)).toEqual(['open']);
});
