/**
 * Pledges the registrar has seen, and whether their owner (us) claims them: RFC 8995 §5.3 leaves
 * the registrar's authorisation policy local, so this is where an administrator approves or
 * denies a serial number of a manufacturer.
 */
export type BrskiDeviceStatus = 'approved' | 'pending' | 'denied';

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
  get(manufacturer: string, serialNumber: string): BrskiDevice | undefined;
  /** Records a pledge's attempt: a new device is added as `pending`; last-seen moves on. */
  seen(manufacturer: string, serialNumber: string, at: Date): BrskiDevice;
  /** An administrator's decision (also pre-approval of a serial never seen). */
  decide(manufacturer: string, serialNumber: string, status: BrskiDeviceStatus, by: string, at: Date): BrskiDevice;
  setLdevid(manufacturer: string, serialNumber: string, ldevidSerial: string): void;
  list(filter?: { status?: BrskiDeviceStatus }): BrskiDevice[];
}

/** In memory, for tests and embedding. */
export class MemoryBrskiDeviceStore implements BrskiDeviceStore {
  private readonly devices = new Map<string, BrskiDevice>();
  private key(m: string, s: string): string {
    return `${m}\u0000${s}`;
  }
  get(m: string, s: string): BrskiDevice | undefined {
    const d = this.devices.get(this.key(m, s));
    return d ? { ...d } : undefined;
  }
  seen(m: string, s: string, at: Date): BrskiDevice {
    const d = this.devices.get(this.key(m, s)) ?? { manufacturer: m, serialNumber: s, status: 'pending' as const, firstSeen: at };
    d.lastSeen = at;
    this.devices.set(this.key(m, s), d);
    return { ...d };
  }
  decide(m: string, s: string, status: BrskiDeviceStatus, by: string, at: Date): BrskiDevice {
    const d = this.devices.get(this.key(m, s)) ?? { manufacturer: m, serialNumber: s, status, firstSeen: at };
    Object.assign(d, { status, decidedBy: by, decidedAt: at });
    this.devices.set(this.key(m, s), d);
    return { ...d };
  }
  setLdevid(m: string, s: string, ldevidSerial: string): void {
    const d = this.devices.get(this.key(m, s));
    if (d) d.ldevidSerial = ldevidSerial;
  }
  list(filter: { status?: BrskiDeviceStatus } = {}): BrskiDevice[] {
    return [...this.devices.values()].filter((d) => filter.status === undefined || d.status === filter.status).map((d) => ({ ...d }));
  }
}
