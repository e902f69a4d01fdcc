import { IssuanceLimitReachedError, SerialInUseError, type IssuedCertificateStore, type NewIssuedCertificate } from '../../src/store/issued-certificates.js';
import { describeStores, type StoreUnderTest } from '../helpers/store-kinds.js';

function cert(serial: string, over: Partial<NewIssuedCertificate> = {}): NewIssuedCertificate {
  return {
    serial,
    issuer: 'CN=Test CA',
    subject: `CN=${serial}`,
    subjectAltNames: [{ type: 'dns', value: `${serial}.example` }],
    deviceId: 'DEV-1',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    der: Uint8Array.from([0x30, 0x00]),
    issuedAt: new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

describeStores('IssuedCertificateStore (migration 5)', (kind) => {
  let s: StoreUnderTest;
  let store: IssuedCertificateStore;
  beforeEach(async () => {
    s = await kind.open();
    store = s.stores.issuedCertificates;
  });
  afterEach(() => s.close());

  test('migration 5 is applied', async () => {
    expect((await s.migrations()).find((m) => m.version === 5)?.name).toBe('issued-certificates');
  });

  test('record, get, list by device and by recency (ties: the later record first)', async () => {
    await store.record(cert('0a01'));
    await store.record(cert('0a02', { issuedAt: new Date('2026-02-01T00:00:00Z') }));
    await store.record(cert('0a03', { deviceId: 'DEV-2', issuedAt: new Date('2026-03-01T00:00:00Z') }));
    await store.record(cert('0a04'));
    const got = await store.get('0a01');
    expect(got).toEqual({ ...cert('0a01'), der: Uint8Array.from([0x30, 0x00]) });
    expect(got?.revokedAt).toBeUndefined();
    expect((await store.listByDevice('DEV-1')).map((c) => c.serial)).toEqual(['0a02', '0a04', '0a01']);
    expect((await store.list(2)).map((c) => c.serial)).toEqual(['0a03', '0a02']);
    expect(await store.get('ffff')).toBeUndefined();
  });

  test('a serial is never stored twice, whatever the issuer', async () => {
    await store.record(cert('0b01'));
    await expect(store.record(cert('0b01', { issuer: 'CN=Other CA', deviceId: 'X' }))).rejects.toBeInstanceOf(SerialInUseError);
    expect((await store.get('0b01'))?.deviceId).toBe('DEV-1');
  });

  test('the same serial recorded at once through two connections (two servers): exactly one succeeds, the other is told SerialInUseError', async () => {
    const other = (await s.another()).issuedCertificates;
    for (let i = 0; i < 20; i++) {
      const serial = `0e${i.toString(16).padStart(2, '0')}`;
      const outcomes = await Promise.allSettled([store.record(cert(serial, { deviceId: 'A' })), other.record(cert(serial, { deviceId: 'B' }))]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(SerialInUseError);
      const winner = outcomes[0]!.status === 'fulfilled' ? 'A' : 'B';
      expect((await store.get(serial))?.deviceId).toBe(winner);
    }
  });

  test('issuedSince: a device\'s issue times after a moment, newest first, at most max of them; other devices and older ones not', async () => {
    const at = (iso: string): Date => new Date(iso);
    await store.record(cert('0f01', { issuedAt: at('2026-01-01T00:00:00Z') }));
    await store.record(cert('0f02', { issuedAt: at('2026-01-01T01:00:00Z') }));
    await store.record(cert('0f03', { issuedAt: at('2026-01-01T02:00:00Z') }));
    await store.record(cert('0f04', { issuedAt: at('2026-01-01T03:00:00Z'), deviceId: 'DEV-2' }));
    await store.revoke('0f03', at('2026-01-01T02:30:00Z'), 'keyCompromise');
    expect(await store.issuedSince('DEV-1', at('2026-01-01T00:00:00Z'), 10)).toEqual([at('2026-01-01T02:00:00Z'), at('2026-01-01T01:00:00Z')]);
    expect(await store.issuedSince('DEV-1', at('2025-12-31T00:00:00Z'), 2)).toEqual([at('2026-01-01T02:00:00Z'), at('2026-01-01T01:00:00Z')]);
    expect(await store.issuedSince('DEV-1', at('2026-01-01T02:00:00Z'), 10)).toEqual([]);
    expect(await store.issuedSince('DEV-3', at('2025-01-01T00:00:00Z'), 10)).toEqual([]);
  });

  test('record within a limit: recorded while the device holds fewer places, refused with the holders\' times (nothing recorded) when it holds them all', async () => {
    const since = new Date('2026-01-01T00:30:00Z');
    const limit = { certificates: 2, since };
    await store.record(cert('1001', { issuedAt: new Date('2026-01-01T00:00:00Z') }), limit); // before `since`: holds no place
    await store.record(cert('1002', { issuedAt: new Date('2026-01-01T01:00:00Z') }), limit);
    await store.record(cert('1003', { issuedAt: new Date('2026-01-01T02:00:00Z'), deviceId: 'DEV-2' }), limit);
    await store.record(cert('1004', { issuedAt: new Date('2026-01-01T03:00:00Z') }), limit);
    const refused = await store.record(cert('1005', { issuedAt: new Date('2026-01-01T04:00:00Z') }), limit).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(IssuanceLimitReachedError);
    expect((refused as IssuanceLimitReachedError).holding).toEqual([new Date('2026-01-01T03:00:00Z'), new Date('2026-01-01T01:00:00Z')]);
    expect(await store.get('1005')).toBeUndefined();
    // A serial taken is still SerialInUseError, under a limit too.
    await expect(store.record(cert('1003', { deviceId: 'DEV-3' }), limit)).rejects.toBeInstanceOf(SerialInUseError);
  });

  test('one device recording at once through two connections (two servers) under a limit of 3: exactly 3 recorded, the rest refused', async () => {
    const other = (await s.another()).issuedCertificates;
    const limit = { certificates: 3, since: new Date('2025-12-31T00:00:00Z') };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).record(cert(`11${i.toString(16).padStart(2, '0')}`, { deviceId: 'RACER' }), limit)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(IssuanceLimitReachedError);
    expect(await store.listByDevice('RACER')).toHaveLength(3);
  });

  test('the schema refuses non-canonical serials and a reason without a time', async () => {
    await expect(store.record(cert('0A01'))).rejects.toMatchObject({ code: s.kind === 'sqlite' ? 'SQLITE_CONSTRAINT_CHECK' : '23514' });
    await expect(store.record(cert('0x1'))).rejects.toMatchObject({ code: s.kind === 'sqlite' ? 'SQLITE_CONSTRAINT_CHECK' : '23514' });
    await store.record(cert('0c01'));
    expect(await s.violation("UPDATE issued_certificates SET revocation_reason = 'superseded' WHERE serial = '0c01'")).toBe('check');
    const at = s.kind === 'sqlite' ? "'2026-01-01T00:00:00.000Z'" : "'2026-01-01T00:00:00Z'";
    expect(await s.violation(`UPDATE issued_certificates SET revoked_at = ${at}, revocation_reason = 'bogus' WHERE serial = '0c01'`)).toBe('check');
  });

  test('revoke once; the first time and reason stay; listRevoked skips expired and other issuers', async () => {
    await store.record(cert('0d01'));
    await store.record(cert('0d02', { notAfter: new Date('2026-06-01T00:00:00Z') }));
    await store.record(cert('0d03', { issuer: 'CN=Other CA' }));
    const t1 = new Date('2026-05-01T00:00:00Z');
    expect(await store.revoke('0d01', t1, 'keyCompromise')).toBe(true);
    expect(await store.revoke('0d01', new Date(), 'superseded')).toBe(false);
    expect(await store.revoke('0d02', t1, 'superseded')).toBe(true);
    expect(await store.revoke('0d03', t1, 'unspecified')).toBe(true);
    expect(await store.revoke('0dff', t1, 'unspecified')).toBe(false);
    expect(await store.get('0d01')).toMatchObject({ revokedAt: t1, revocationReason: 'keyCompromise' });
    expect((await store.listRevoked('CN=Test CA', new Date('2026-05-15T00:00:00Z'))).map((c) => c.serial)).toEqual(['0d01', '0d02']);
    expect((await store.listRevoked('CN=Test CA', new Date('2026-07-01T00:00:00Z'))).map((c) => c.serial)).toEqual(['0d01']);
  });

  test('migration 14: which LDevID a re-enrolment was authenticated by is kept and listed (revoked or not)', async () => {
    expect((await s.migrations()).find((m) => m.version === 14)?.name).toBe('issued-certificates-lineage');
    await store.record(cert('0f01'));
    await store.record(cert('0f02', { reissuedFrom: '0f01', issuedAt: new Date('2026-02-01T00:00:00Z') }));
    await store.record(cert('0f03', { reissuedFrom: '0f01', issuedAt: new Date('2026-03-01T00:00:00Z') }));
    await store.record(cert('0f04', { reissuedFrom: '0f02' }));
    expect((await store.get('0f01'))?.reissuedFrom).toBeUndefined();
    expect(await store.get('0f02')).toMatchObject({ reissuedFrom: '0f01' });
    await store.revoke('0f02', new Date('2026-05-01T00:00:00Z'), 'superseded');
    expect((await store.listReissuedFrom('0f01')).map((c) => [c.serial, c.revocationReason ?? null])).toEqual([['0f02', 'superseded'], ['0f03', null]]);
    expect((await store.listReissuedFrom('0f02')).map((c) => c.serial)).toEqual(['0f04']);
    expect(await store.listReissuedFrom('0f04')).toEqual([]);
  });

  test('CRL numbers count up per issuer and survive reopening', async () => {
    expect(await store.nextCrlNumber('CN=A')).toBe(1n);
    expect(await store.nextCrlNumber('CN=A')).toBe(2n);
    expect(await store.nextCrlNumber('CN=B')).toBe(1n);
    expect(await (await s.another()).issuedCertificates.nextCrlNumber('CN=A')).toBe(3n);
  });

  test('CRL numbers drawn at once through two connections (two servers): all different, one increasing sequence', async () => {
    const other = (await s.another()).issuedCertificates;
    const drawn = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : other).nextCrlNumber('CN=Shared')));
    expect([...drawn].sort((x, y) => (x < y ? -1 : 1))).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i + 1)));
    expect(await store.nextCrlNumber('CN=Shared')).toBe(41n);
  });
});
