import { describeStores, type StoreUnderTest } from '../helpers/store-kinds.js';
import { olderCrlReason, raisesBaseline, type CrlBaseline } from '../../src/store/crl-baselines.js';

describeStores('CrlBaselineStore (migration 13)', (kind) => {
  const t0 = new Date('2026-12-05T10:00:00Z');
  const t1 = new Date('2026-12-05T11:00:00Z');
  const base = (crlNumber: bigint | undefined, thisUpdate = t0, signer = 'aa'): CrlBaseline => ({
    issuerKey: '3010310e300c06035504030c0543412d31',
    signerKeySha256: signer,
    issuer: 'CN=CA-1',
    ...(crlNumber !== undefined ? { crlNumber } : {}),
    thisUpdate,
    recordedAt: t1,
  });
  let s: StoreUnderTest;
  beforeEach(async () => {
    s = await kind.open();
  });
  afterEach(() => s.close());

  test('raised only upward, per issuer and signing key; numbers beyond 64 bits survive', async () => {
    const b = s.stores.crlBaselines;
    expect(await b.list()).toEqual([]);
    expect(await b.raise(base(5n))).toEqual(base(5n));
    // Lower is not recorded; what holds is returned.
    expect(await b.raise(base(4n, t1))).toEqual(base(5n));
    const big = 2n ** 159n + 7n;
    expect(await b.raise(base(big))).toEqual(base(big));
    // Another key of the same name (a CA that started over) has its own baseline.
    expect(await b.raise(base(1n, t0, 'bb'))).toEqual(base(1n, t0, 'bb'));
    expect(await b.list()).toEqual([base(big), base(1n, t0, 'bb')]);
    // Another connection (a second server) sees it and cannot lower it.
    const other = await s.another();
    expect(await other.crlBaselines.raise(base(6n))).toEqual(base(big));
    await expect(b.raise(base(-1n))).rejects.toThrow(/negative/);
    expect(await s.violation("UPDATE crl_baselines SET crl_number = '12a'")).toBe('check');
    expect((await s.migrations()).find((m) => m.version === 13)?.name).toBe('crl-baselines');
  });

  test('without numbers, thisUpdate orders; a number where there was none raises at the same time', async () => {
    const b = s.stores.crlBaselines;
    await b.raise(base(undefined, t0));
    expect(await b.raise(base(undefined, new Date(t0.getTime() - 1000)))).toEqual(base(undefined, t0));
    expect(await b.raise(base(3n, t0))).toEqual(base(3n, t0));
    expect(await b.raise(base(undefined, t1))).toEqual(base(undefined, t1));
  });

  test('concurrent raises from two connections keep the highest', async () => {
    const other = await s.another();
    await Promise.all([1n, 9n, 4n, 7n].flatMap((n) => [s.stores.crlBaselines.raise(base(n)), other.crlBaselines.raise(base(n + 1n))]));
    expect((await s.stores.crlBaselines.list()).map((x) => x.crlNumber)).toEqual([10n]);
  });
});

describe('CRL order', () => {
  test('by number when both have one, else by thisUpdate', () => {
    const a = new Date('2026-01-01T00:00:00Z');
    const b = new Date('2026-01-02T00:00:00Z');
    expect(olderCrlReason({ crlNumber: 1n, thisUpdate: b }, { crlNumber: 2n, thisUpdate: a })).toBe('CRL number 1 < 2');
    expect(olderCrlReason({ crlNumber: 2n, thisUpdate: a }, { crlNumber: 2n, thisUpdate: b })).toBeUndefined();
    expect(olderCrlReason({ thisUpdate: a }, { crlNumber: 2n, thisUpdate: b })).toMatch(/^thisUpdate/);
    expect(raisesBaseline({ crlNumber: 2n, thisUpdate: a }, { crlNumber: 2n, thisUpdate: a })).toBe(false);
    expect(raisesBaseline({ crlNumber: 3n, thisUpdate: a }, { crlNumber: 2n, thisUpdate: a })).toBe(true);
  });
});
