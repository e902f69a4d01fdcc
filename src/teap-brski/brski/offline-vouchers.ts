import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { OfflineVoucherStore } from './registrar.js';

const SAFE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Nonceless vouchers fetched ahead of time, one file per pledge: DIR/<manufacturer>/<serial>.vcj
 * (the voucher exactly as the MASA signed it). Names are restricted so a serial cannot walk the tree.
 */
export class FileOfflineVoucherStore implements OfflineVoucherStore {
  constructor(private readonly dir: string) {}

  private path(manufacturer: string, serialNumber: string): string | undefined {
    if (!SAFE.test(manufacturer) || !SAFE.test(serialNumber) || serialNumber.startsWith('.')) return undefined;
    return join(this.dir, manufacturer, `${serialNumber}.vcj`);
  }

  get(manufacturer: string, serialNumber: string): Uint8Array | undefined {
    const p = this.path(manufacturer, serialNumber);
    if (!p) return undefined;
    try {
      return new Uint8Array(readFileSync(p));
    } catch {
      return undefined;
    }
  }

  put(manufacturer: string, serialNumber: string, voucher: Uint8Array): void {
    const p = this.path(manufacturer, serialNumber);
    if (!p) throw new Error(`cannot store a voucher for "${manufacturer}" / "${serialNumber}": unsafe name`);
    mkdirSync(join(this.dir, manufacturer), { recursive: true, mode: 0o700 });
    const tmp = `${p}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, voucher);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, p);
  }
}
