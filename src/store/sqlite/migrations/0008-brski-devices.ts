import type { Migration } from '../../migration.js';

/** TEAP-BRSKI pledges by manufacturer and serial-number, with the owner's decision (store/brski-devices.ts). */
export const brskiDevicesMigration: Migration = {
  version: 8,
  name: 'brski-devices',
  up: `
    CREATE TABLE brski_devices (
      manufacturer TEXT NOT NULL,
      serial_number TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('approved', 'pending', 'denied')),
      first_seen TEXT NOT NULL,
      last_seen TEXT,
      decided_by TEXT,
      decided_at TEXT,
      ldevid_serial TEXT,
      PRIMARY KEY (manufacturer, serial_number)
    );
  `,
};
