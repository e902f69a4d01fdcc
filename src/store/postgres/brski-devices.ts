import type { BrskiDevice, BrskiDeviceStatus, BrskiDeviceStore } from '../brski-devices.js';
import { pgText, type PostgresDatabase } from './database.js';

interface Row {
  manufacturer: string;
  serial_number: string;
  status: BrskiDeviceStatus;
  first_seen: Date;
  last_seen: Date | null;
  decided_by: string | null;
  decided_at: Date | null;
  ldevid_serial: string | null;
}

const COLUMNS = 'manufacturer, serial_number, status, first_seen, last_seen, decided_by, decided_at, ldevid_serial';

function toDevice(r: Row): BrskiDevice {
  return {
    manufacturer: r.manufacturer,
    serialNumber: r.serial_number,
    status: r.status,
    firstSeen: r.first_seen,
    ...(r.last_seen !== null ? { lastSeen: r.last_seen } : {}),
    ...(r.decided_by !== null ? { decidedBy: r.decided_by } : {}),
    ...(r.decided_at !== null ? { decidedAt: r.decided_at } : {}),
    ...(r.ldevid_serial !== null ? { ldevidSerial: r.ldevid_serial } : {}),
  };
}

/** Each write is one upsert returning the row it left: no window for another server between write and read. */
export class PostgresBrskiDeviceStore implements BrskiDeviceStore {
  constructor(private readonly db: PostgresDatabase) {}

  async get(manufacturer: string, serialNumber: string): Promise<BrskiDevice | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM brski_devices WHERE manufacturer = $1 AND serial_number = $2`, [pgText(manufacturer), pgText(serialNumber)]);
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async seen(manufacturer: string, serialNumber: string, at: Date): Promise<BrskiDevice> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO brski_devices (manufacturer, serial_number, status, first_seen, last_seen) VALUES ($1, $2, 'pending', $3, $3)
       ON CONFLICT (manufacturer, serial_number) DO UPDATE SET last_seen = excluded.last_seen
       RETURNING ${COLUMNS}`,
      [pgText(manufacturer), pgText(serialNumber), at],
    );
    return toDevice(rows[0]!);
  }

  async decide(manufacturer: string, serialNumber: string, status: BrskiDeviceStatus, by: string, at: Date): Promise<BrskiDevice> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO brski_devices (manufacturer, serial_number, status, first_seen, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $4)
       ON CONFLICT (manufacturer, serial_number) DO UPDATE SET status = excluded.status, decided_by = excluded.decided_by, decided_at = excluded.decided_at
       RETURNING ${COLUMNS}`,
      [pgText(manufacturer), pgText(serialNumber), status, at, pgText(by)],
    );
    return toDevice(rows[0]!);
  }

  async setLdevid(manufacturer: string, serialNumber: string, ldevidSerial: string): Promise<void> {
    await this.db.query('UPDATE brski_devices SET ldevid_serial = $1 WHERE manufacturer = $2 AND serial_number = $3', [ldevidSerial, pgText(manufacturer), pgText(serialNumber)]);
  }

  async list(filter: { status?: BrskiDeviceStatus } = {}): Promise<BrskiDevice[]> {
    const order = 'ORDER BY manufacturer COLLATE "C", serial_number COLLATE "C"';
    const { rows } = filter.status
      ? await this.db.query<Row>(`SELECT ${COLUMNS} FROM brski_devices WHERE status = $1 ${order}`, [filter.status])
      : await this.db.query<Row>(`SELECT ${COLUMNS} FROM brski_devices ${order}`);
    return rows.map(toDevice);
  }
}
