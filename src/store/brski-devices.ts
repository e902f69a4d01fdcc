/**
 * Pledges the registrar has seen, and whether their owner (us) claims them: RFC 8995 §5.3 leaves
 * the registrar's authorisation policy local, so this is where an administrator approves or
 * denies a serial number of a manufacturer.
 */
export type BrskiDeviceStatus = 'approved' | 'pending' | 'denied';

/**
 * A BRSKI device id, `manufacturer:serialNumber` (manufacturer names hold no colon, serials may),
 * split at its first colon; undefined for another id, such as gangway init's demo client's.
 */
export function parseBrskiDeviceId(deviceId: string): { manufacturer: string; serialNumber: string } | undefined {
  const i = deviceId.indexOf(':');
  return i > 0 && i < deviceId.length - 1 ? { manufacturer: deviceId.slice(0, i), serialNumber: deviceId.slice(i + 1) } : undefined;
}

export interface BrskiDevice {
  manufacturer: string;
  serialNumber: string;
  status: BrskiDeviceStatus;
  firstSeen: Date;
  lastSeen?: Date;
  /** Who approved or denied it (an administrator's name), when someone did. */
  decidedBy?: string;
  decidedAt?: Date;
  /** Serial number (hex) of the LDevID issued last, if any. */
  ldevidSerial?: string;
}

export interface BrskiDeviceStore {
  get(manufacturer: string, serialNumber: string): Promise<BrskiDevice | undefined>;
  /** Records a pledge's attempt: a new device is added as `pending`; last-seen moves on. */
  seen(manufacturer: string, serialNumber: string, at: Date): Promise<BrskiDevice>;
  /** An administrator's decision (also pre-approval of a serial never seen). */
  decide(manufacturer: string, serialNumber: string, status: BrskiDeviceStatus, by: string, at: Date): Promise<BrskiDevice>;
  setLdevid(manufacturer: string, serialNumber: string, ldevidSerial: string): Promise<void>;
  /** By manufacturer, then serial number. */
  list(filter?: { status?: BrskiDeviceStatus }): Promise<BrskiDevice[]>;
}

/** In memory, for tests and embedding. */
export class MemoryBrskiDeviceStore implements BrskiDeviceStore {
  private readonly devices = new Map<string, BrskiDevice>();
  private key(m: string, s: string): string {
    return `${m}\u0000${s}`;
  }
  async get(m: string, s: string): Promise<BrskiDevice | undefined> {
    const d = this.devices.get(this.key(m, s));
    return d ? { ...d } : undefined;
  }
  async seen(m: string, s: string, at: Date): Promise<BrskiDevice> {
    const d = this.devices.get(this.key(m, s)) ?? { manufacturer: m, serialNumber: s, status: 'pending' as const, firstSeen: at };
    d.lastSeen = at;
    this.devices.set(this.key(m, s), d);
    return { ...d };
  }
  async decide(m: string, s: string, status: BrskiDeviceStatus, by: string, at: Date): Promise<BrskiDevice> {
    const d = this.devices.get(this.key(m, s)) ?? { manufacturer: m, serialNumber: s, status, firstSeen: at };
    Object.assign(d, { status, decidedBy: by, decidedAt: at });
    this.devices.set(this.key(m, s), d);
    return { ...d };
  }
  async setLdevid(m: string, s: string, ldevidSerial: string): Promise<void> {
    const d = this.devices.get(this.key(m, s));
    if (d) d.ldevidSerial = ldevidSerial;
  }
  async list(filter: { status?: BrskiDeviceStatus } = {}): Promise<BrskiDevice[]> {
    return [...this.devices.values()]
      .filter((d) => filter.status === undefined || d.status === filter.status)
      .sort((a, b) => (a.manufacturer === b.manufacturer ? compare(a.serialNumber, b.serialNumber) : compare(a.manufacturer, b.manufacturer)))
      .map((d) => ({ ...d }));
  }
}

/** Ordinal order, as SQLite's BINARY and PostgreSQL's "C" collations sort (they differ from this only above U+FFFF). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
