import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteBrskiDeviceStore } from '../../src/store/sqlite/brski-devices.js';
import { MemoryBrskiDeviceStore, type BrskiDeviceStore } from '../../src/store/brski-devices.js';

describe.each([
  ['SQLite', (): BrskiDeviceStore => new SqliteBrskiDeviceStore(openSqlite(':memory:'))],
  ['memory', (): BrskiDeviceStore => new MemoryBrskiDeviceStore()],
])('BrskiDeviceStore (%s)', (_, make) => {
  const t0 = new Date('2026-12-05T10:00:00Z');
  const t1 = new Date('2026-12-05T11:00:00Z');

  test('a new pledge is pending; seeing it again moves last-seen only', () => {
    const s = make();
    expect(s.seen('acme', 'SN-1', t0)).toMatchObject({ status: 'pending', firstSeen: t0, lastSeen: t0 });
    expect(s.seen('acme', 'SN-1', t1)).toMatchObject({ status: 'pending', firstSeen: t0, lastSeen: t1 });
    expect(s.get('other', 'SN-1')).toBeUndefined();
  });

  test('an administrator approves a seen device, or pre-approves one never seen; the decision sticks', () => {
    const s = make();
    s.seen('acme', 'SN-1', t0);
    expect(s.decide('acme', 'SN-1', 'approved', 'admin', t1)).toMatchObject({ status: 'approved', decidedBy: 'admin', firstSeen: t0 });
    expect(s.seen('acme', 'SN-1', t1).status).toBe('approved');
    expect(s.decide('acme', 'SN-2', 'approved', 'admin', t1)).toMatchObject({ status: 'approved', firstSeen: t1 });
    s.decide('acme', 'SN-3', 'denied', 'admin', t1);
    expect(s.list({ status: 'approved' }).map((d) => d.serialNumber)).toEqual(['SN-1', 'SN-2']);
    expect(s.list().map((d) => d.serialNumber)).toEqual(['SN-1', 'SN-2', 'SN-3']);
  });

  test('the LDevID serial is recorded', () => {
    const s = make();
    s.decide('acme', 'SN-1', 'approved', 'admin', t0);
    s.setLdevid('acme', 'SN-1', '0a0b');
    expect(s.get('acme', 'SN-1')?.ldevidSerial).toBe('0a0b');
  });
});
