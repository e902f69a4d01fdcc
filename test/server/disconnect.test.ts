import { getStringAttribute, getIntegerAttribute } from '../../src/radius/attributes.js';
import { AttributeType, ErrorCause } from '../../src/radius/dictionary.js';
import { createSessionTerminator } from '../../src/server/disconnect.js';
import type { AccessSession, AccessSessionStore } from '../../src/store/access-sessions.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { TestDynamicAuthorizationServer } from '../helpers/test-nas.js';

class MapSessions implements AccessSessionStore {
  readonly m = new Map<string, AccessSession>();
  async record(s: AccessSession): Promise<void> { this.m.set(s.identity, s); }
  async get(identity: string): Promise<AccessSession | undefined> { return this.m.get(identity); }
  async remove(identity: string, acceptedAt?: Date): Promise<boolean> {
    const s = this.m.get(identity);
    if (!s || (acceptedAt !== undefined && s.acceptedAt.getTime() !== acceptedAt.getTime())) return false;
    return this.m.delete(identity);
  }
  async identitiesOfDevice(deviceId: string): Promise<string[]> {
    return [...this.m.values()].filter((s) => s.deviceId === deviceId).map((s) => s.identity);
  }
}

describe('Disconnect-Request (RFC 5176) for a removed device', () => {
  const SECRET = 'nas-secret-123';
  let das: TestDynamicAuthorizationServer;
  beforeEach(async () => { das = await TestDynamicAuthorizationServer.open(SECRET); });
  afterEach(() => das.close());

  const session = (clientName: string): AccessSession => ({
    identity: 'PeerIdPeerIdPeerId0123', clientName, clientAddress: '127.0.0.1', requestUserName: 'noob@gangway.local',
    callingStationId: '02-00-00-00-00-01', nasIdentifier: 'ap-1', acceptedAt: new Date(),
  });

  it('names the session by User-Name, Calling-Station-Id and NAS-Identifier, signed, and reads the ACK', async () => {
    const sessions = new MapSessions();
    await sessions.record(session('ap'));
    const terminate = createSessionTerminator({ sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog() });
    expect(await terminate('PeerIdPeerIdPeerId0123')).toEqual({ kind: 'ack', client: 'ap', address: '127.0.0.1' });
    const [got] = await das.waitFor(1);
    expect(got!.messageAuthenticator).toBe('valid');
    expect(getStringAttribute(got!.packet, AttributeType.UserName)).toBe('PeerIdPeerIdPeerId0123');
    expect(getStringAttribute(got!.packet, AttributeType.CallingStationId)).toBe('02-00-00-00-00-01');
    expect(getStringAttribute(got!.packet, AttributeType.NasIdentifier)).toBe('ap-1');
    expect(Math.abs(getIntegerAttribute(got!.packet, AttributeType.EventTimestamp)! - Date.now() / 1000)).toBeLessThan(5);
    // The session is gone once the NAS confirmed.
    expect(await sessions.get('PeerIdPeerIdPeerId0123')).toBeUndefined();
  });

  it('reports a NAK with its Error-Cause, an unconfigured NAS, an unknown session, and a silent NAS', async () => {
    const sessions = new MapSessions();
    await sessions.record(session('ap'));
    const log = new MemoryLog();
    das.nakWith = ErrorCause.SessionContextNotFound;
    const t = createSessionTerminator({ sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }, { name: 'plain', secret: SECRET }], log });
    expect(await t('PeerIdPeerIdPeerId0123')).toEqual({ kind: 'nak', client: 'ap', address: '127.0.0.1', errorCause: 503 });
    expect(await t('unknown')).toEqual({ kind: 'no-session' });
    await sessions.record({ ...session('plain'), identity: 'X' });
    expect(await t('X')).toEqual({ kind: 'not-configured', client: 'plain' });
    const silent = createSessionTerminator({ sessions, clients: [{ name: 'ap', secret: 'wrong-secret-99', coa: { port: das.port } }], log, maxDurationMs: 1500 });
    expect(await silent('PeerIdPeerIdPeerId0123')).toMatchObject({ kind: 'failed', client: 'ap' });
  });

  describe('a session accepted while the identity was being removed (an Accept that crossed the removal)', () => {
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

    it('is ended by the second look, and reported', async () => {
      const sessions = new MapSessions();
      const late: unknown[] = [];
      const t = createSessionTerminator({
        sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(),
        lateSessionGraceMs: 300, onLateSession: (identity, outcome, detail) => late.push({ identity, outcome, detail }),
      });
      // The first look finds nothing: the Accept's session is recorded only afterwards.
      expect(await t('PeerIdPeerIdPeerId0123', { detail: { by: 'alice' } })).toEqual({ kind: 'no-session' });
      await sleep(50);
      await sessions.record(session('ap'));
      const [got] = await das.waitFor(1);
      expect(getStringAttribute(got!.packet, AttributeType.UserName)).toBe('PeerIdPeerIdPeerId0123');
      for (let i = 0; i < 100 && late.length === 0; i++) await sleep(10);
      expect(late).toEqual([{ identity: 'PeerIdPeerIdPeerId0123', outcome: { kind: 'ack', client: 'ap', address: '127.0.0.1' }, detail: { by: 'alice' } }]);
      expect(await sessions.get('PeerIdPeerIdPeerId0123')).toBeUndefined();
    });

    it('after an ACK, a newer session is ended too; the session the first look handled is not asked for twice', async () => {
      const sessions = new MapSessions();
      const older = { ...session('ap'), acceptedAt: new Date(Date.now() - 60_000) };
      await sessions.record(older);
      const late: unknown[] = [];
      const t = createSessionTerminator({
        sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(),
        lateSessionGraceMs: 200, onLateSession: (identity, outcome, detail) => late.push({ identity, outcome, detail }),
      });
      das.nakWith = ErrorCause.SessionContextNotFound;
      expect(await t('PeerIdPeerIdPeerId0123')).toMatchObject({ kind: 'nak' });
      await sleep(400);
      // The NAK left the old session on record: the second look leaves it alone.
      expect(das.received).toHaveLength(1);
      expect(late).toEqual([]);

      das.nakWith = undefined;
      expect(await t('PeerIdPeerIdPeerId0123')).toMatchObject({ kind: 'ack' });
      await sessions.record(session('ap'));
      await das.waitFor(3);
      for (let i = 0; i < 100 && late.length === 0; i++) await sleep(10);
      expect(late).toEqual([{ identity: 'PeerIdPeerIdPeerId0123', outcome: { kind: 'ack', client: 'ap', address: '127.0.0.1' }, detail: {} }]);
    });

    it('a session recorded while the first Disconnect is under way survives its ACK and is ended by the second look', async () => {
      const sessions = new MapSessions();
      // Accepted a second before: over loopback the crossing Accept can come in the same
      // millisecond, which the same-millisecond test below covers on its own (this one flaked in CI).
      await sessions.record({ ...session('ap'), acceptedAt: new Date(Date.now() - 1000) });
      const late: unknown[] = [];
      const t = createSessionTerminator({
        sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(),
        lateSessionGraceMs: 300, onLateSession: (identity, outcome) => late.push({ identity, outcome }),
      });
      // The crossing Accept is recorded between the first look and the NAS's ACK.
      das.onRequest = () => { void sessions.record({ ...session('ap'), callingStationId: '02-00-00-00-00-02', acceptedAt: new Date() }); };
      expect(await t('PeerIdPeerIdPeerId0123')).toMatchObject({ kind: 'ack' });
      expect(await sessions.get('PeerIdPeerIdPeerId0123')).toMatchObject({ callingStationId: '02-00-00-00-00-02' });
      das.onRequest = undefined;
      const [, second] = await das.waitFor(2);
      expect(getStringAttribute(second!.packet, AttributeType.CallingStationId)).toBe('02-00-00-00-00-02');
      for (let i = 0; i < 100 && late.length === 0; i++) await sleep(10);
      expect(late).toHaveLength(1);
    });

    it('a different session in the same millisecond as the one the first look saw is still a new one', async () => {
      const sessions = new MapSessions();
      const first = session('ap');
      await sessions.record(first);
      const t = createSessionTerminator({ sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(), lateSessionGraceMs: 200 });
      das.nakWith = ErrorCause.SessionContextNotFound;
      expect(await t('PeerIdPeerIdPeerId0123')).toMatchObject({ kind: 'nak' });
      await sessions.record({ ...first, callingStationId: '02-00-00-00-00-03' });
      const [, second] = await das.waitFor(2);
      expect(getStringAttribute(second!.packet, AttributeType.CallingStationId)).toBe('02-00-00-00-00-03');
    });

    it('watchLate false: no second look (a revoked certificate: the identity outlives it)', async () => {
      const sessions = new MapSessions();
      const t = createSessionTerminator({ sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(), lateSessionGraceMs: 100 });
      expect(await t('PeerIdPeerIdPeerId0123', { watchLate: false })).toEqual({ kind: 'no-session' });
      await sessions.record(session('ap'));
      await sleep(300);
      expect(das.received).toHaveLength(0);
    });

    // FAILS at 3e6d69e: a person found through a denied device had their laptop's session ended.
    it('onlyDevice: only a session that rested on that device is ended, now and at the second look', async () => {
      const sessions = new MapSessions();
      const late: unknown[] = [];
      const t = createSessionTerminator({
        sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(),
        lateSessionGraceMs: 200, onLateSession: (identity, outcome) => late.push({ identity, outcome }),
      });
      await sessions.record({ ...session('ap'), identity: 'dave', deviceId: 'acme:SN-9', acceptedAt: new Date(Date.now() - 1000) });
      expect(await t('dave', { onlyDevice: 'acme:SN-8' })).toEqual({ kind: 'no-session' });
      await sleep(300);
      expect(das.received).toHaveLength(0);
      expect(await t('dave', { onlyDevice: 'acme:SN-9' })).toMatchObject({ kind: 'ack' });
      // dave signs in on his laptop meanwhile: not the device's, so the second look leaves it.
      await sessions.record({ ...session('ap'), identity: 'dave', callingStationId: '02-00-00-00-00-99' });
      await sleep(400);
      expect(das.received).toHaveLength(1);
      expect(late).toEqual([]);
      // A late session on the device is the second look's business.
      expect(await t('dave', { onlyDevice: 'acme:SN-9' })).toEqual({ kind: 'no-session' });
      await sessions.record({ ...session('ap'), identity: 'dave', deviceId: 'acme:SN-9', acceptedAt: new Date(Date.now() + 1000) });
      await das.waitFor(2);
      for (let i = 0; i < 100 && late.length === 0; i++) await sleep(10);
      expect(late).toEqual([{ identity: 'dave', outcome: { kind: 'ack', client: 'ap', address: '127.0.0.1' } }]);
    });

    it('stillWanted: a late session after the removal was undone is left alone', async () => {
      const sessions = new MapSessions();
      let wanted = true;
      const late: unknown[] = [];
      const t = createSessionTerminator({
        sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(),
        lateSessionGraceMs: 200, onLateSession: (identity, outcome) => late.push({ identity, outcome }),
      });
      expect(await t('PeerIdPeerIdPeerId0123', { stillWanted: async () => wanted })).toEqual({ kind: 'no-session' });
      wanted = false;
      await sessions.record(session('ap'));
      await sleep(400);
      expect(das.received).toHaveLength(0);
      expect(late).toEqual([]);
    });

    // FAILS at d04c5e3: a store error in the question left the late session up, unaudited.
    it('stillWanted that fails: the removal stands, and the late session is ended', async () => {
      const sessions = new MapSessions();
      const late: unknown[] = [];
      const t = createSessionTerminator({
        sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(),
        lateSessionGraceMs: 200, onLateSession: (identity, outcome) => late.push({ identity, outcome }),
      });
      expect(await t('PeerIdPeerIdPeerId0123', { stillWanted: async () => { throw new Error('database is locked'); } })).toEqual({ kind: 'no-session' });
      await sessions.record(session('ap'));
      await das.waitFor(1);
      for (let i = 0; i < 100 && late.length === 0; i++) await sleep(10);
      expect(late).toEqual([{ identity: 'PeerIdPeerIdPeerId0123', outcome: { kind: 'ack', client: 'ap', address: '127.0.0.1' } }]);
    });

    it('with lateSessionGraceMs 0 there is no second look', async () => {
      const sessions = new MapSessions();
      const t = createSessionTerminator({ sessions, clients: [{ name: 'ap', secret: SECRET, coa: { port: das.port } }], log: new MemoryLog(), lateSessionGraceMs: 0 });
      expect(await t('PeerIdPeerIdPeerId0123')).toEqual({ kind: 'no-session' });
      await sessions.record(session('ap'));
      await sleep(300);
      expect(das.received).toHaveLength(0);
    });
  });
});
