import type { BrskiDevice, BrskiDeviceStatus, BrskiDeviceStore } from '../brski-devices.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  manufacturer: string;
  serial_number: string;
  status: BrskiDeviceStatus;
  first_seen: string;
  last_seen: string | null;
  decided_by: string | null;
  decided_at: string | null;
  ldevid_serial: string | null;
}

const COLUMNS = 'manufacturer, serial_number, status, first_seen, last_seen, decided_by, decided_at, ldevid_serial';

function toDevice(r: Row): BrskiDevice {
  return {
    manufacturer: r.manufacturer,
    serialNumber: r.serial_number,
    status: r.status,
    firstSeen: new Date(r.first_seen),
    ...(r.last_seen !== null ? { lastSeen: new Date(r.last_seen) } : {}),
    ...(r.decided_by !== null ? { decidedBy: r.decided_by } : {}),
    ...(r.decided_at !== null ? { decidedAt: new Date(r.decided_at) } : {}),
    ...(r.ldevid_serial !== null ? { ldevidSerial: r.ldevid_serial } : {}),
  };
}

export class SqliteBrskiDeviceStore implements BrskiDeviceStore {
  private readonly selectOne;
  private readonly upsertSeen;
  private readonly upsertDecision;
  private readonly updateLdevid;
  private readonly selectAll;
  private readonly selectByStatus;

  constructor(db: SqliteDatabase) {
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM brski_devices WHERE manufacturer = ? AND serial_number = ?`);
    this.upsertSeen = db.prepare(
      `INSERT INTO brski_devices (manufacturer, serial_number, status, first_seen, last_seen) VALUES (?, ?, 'pending', ?, ?)
       ON CONFLICT (manufacturer, serial_number) DO UPDATE SET last_seen = excluded.last_seen`,
    );
    this.upsertDecision = db.prepare(
      `INSERT INTO brski_devices (manufacturer, serial_number, status, first_seen, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (manufacturer, serial_number) DO UPDATE SET status = excluded.status, decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    );
    this.updateLdevid = db.prepare('UPDATE brski_devices SET ldevid_serial = ? WHERE manufacturer = ? AND serial_number = ?');
    this.selectAll = db.prepare(`SELECT ${COLUMNS} FROM brski_devices ORDER BY manufacturer, serial_number`);
    this.selectByStatus = db.prepare(`SELECT ${COLUMNS} FROM brski_devices WHERE status = ? ORDER BY manufacturer, serial_number`);
  }

  async get(manufacturer: string, serialNumber: string): Promise<BrskiDevice | undefined> {
    const r = this.selectOne.get(manufacturer, serialNumber) as Row | undefined;
    return r ? toDevice(r) : undefined;
  }

  async seen(manufacturer: string, serialNumber: string, at: Date): Promise<BrskiDevice> {
    this.upsertSeen.run(manufacturer, serialNumber, at.toISOString(), at.toISOString());
    return toDevice(this.selectOne.get(manufacturer, serialNumber) as Row);
  }

  async decide(manufacturer: string, serialNumber: string, status: BrskiDeviceStatus, by: string, at: Date): Promise<BrskiDevice> {
    this.upsertDecision.run(manufacturer, serialNumber, status, at.toISOString(), by, at.toISOString());
    return toDevice(this.selectOne.get(manufacturer, serialNumber) as Row);
  }

  async setLdevid(manufacturer: string, serialNumber: string, ldevidSerial: string): Promise<void> {
    this.updateLdevid.run(ldevidSerial, manufacturer, serialNumber);
  }

  async list(filter: { status?: BrskiDeviceStatus } = {}): Promise<BrskiDevice[]> {
    const rows = (filter.status ? this.selectByStatus.all(filter.status) : this.selectAll.all()) as Row[];
    return rows.map(toDevice);
  }
}
