import { MemoryBrskiDeviceStore, type BrskiDeviceStore } from '../../src/store/brski-devices.js';
import { describeStores, type StoreUnderTest } from '../helpers/store-kinds.js';

const t0 = new Date('2026-12-05T10:00:00Z');
const t1 = new Date('2026-12-05T11:00:00Z');

function contract(make: () => BrskiDeviceStore): void {
  test('a new pledge is pending; seeing it again moves last-seen only', async () => {
    const s = make();
    expect(await s.seen('acme', 'SN-1', t0)).toMatchObject({ status: 'pending', firstSeen: t0, lastSeen: t0 });
    expect(await s.seen('acme', 'SN-1', t1)).toMatchObject({ status: 'pending', firstSeen: t0, lastSeen: t1 });
    expect(await s.get('other', 'SN-1')).toBeUndefined();
  });

  test('an administrator approves a seen device, or pre-approves one never seen; the decision sticks', async () => {
    const s = make();
    await s.seen('acme', 'SN-1', t0);
    expect(await s.decide('acme', 'SN-1', 'approved', 'admin', t1)).toMatchObject({ status: 'approved', decidedBy: 'admin', firstSeen: t0 });
    expect((await s.seen('acme', 'SN-1', t1)).status).toBe('approved');
    expect(await s.decide('acme', 'SN-2', 'approved', 'admin', t1)).toMatchObject({ status: 'approved', firstSeen: t1 });
    await s.decide('acme', 'SN-3', 'denied', 'admin', t1);
    expect((await s.list({ status: 'approved' })).map((d) => d.serialNumber)).toEqual(['SN-1', 'SN-2']);
    expect((await s.list()).map((d) => d.serialNumber)).toEqual(['SN-1', 'SN-2', 'SN-3']);
  });

  test('listed by manufacturer, then serial, in code point order', async () => {
    const s = make();
    for (const [m, n] of [['globex', 'a'], ['acme', 'b'], ['acme', 'B'], ['Acme', 'z']] as const) await s.seen(m, n, t0);
    expect((await s.list()).map((d) => `${d.manufacturer}:${d.serialNumber}`)).toEqual(['Acme:z', 'acme:B', 'acme:b', 'globex:a']);
  });

  test('the LDevID serial is recorded', async () => {
    const s = make();
    await s.decide('acme', 'SN-1', 'approved', 'admin', t0);
    await s.setLdevid('acme', 'SN-1', '0a0b');
    expect((await s.get('acme', 'SN-1'))?.ldevidSerial).toBe('0a0b');
  });
}

describe('BrskiDeviceStore (memory)', () => contract(() => new MemoryBrskiDeviceStore()));

describeStores('BrskiDeviceStore (migration 8)', (kind) => {
  let s: StoreUnderTest;
  beforeEach(async () => {
    s = await kind.open();
  });
  afterEach(() => s.close());
  contract(() => s.stores.brskiDevices);

  test('two servers seeing the same new pledge at once: one row, pending, first-seen kept', async () => {
    const other = (await s.another()).brskiDevices;
    const seen = await Promise.all([s.stores.brskiDevices.seen('acme', 'SN-9', t0), other.seen('acme', 'SN-9', t1)]);
    expect(seen.every((d) => d.status === 'pending')).toBe(true);
    expect(await s.stores.brskiDevices.list()).toHaveLength(1);
    expect((await other.get('acme', 'SN-9'))?.firstSeen).toEqual(seen[0]!.firstSeen);
  });
});
