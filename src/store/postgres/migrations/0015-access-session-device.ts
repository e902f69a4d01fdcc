import type { Migration } from '../../migration.js';

/**
 * The TEAP-BRSKI device (manufacturer:serialNumber) whose IDevID or LDevID an accepted session
 * rests on, whatever identity it was accepted under, so that denying the device can end it. It
 * names the Accept it came with (device_accepted_at): a server of an earlier version replacing the
 * session writes neither column, and the device no longer counts for the Accept it recorded.
 */
export const accessSessionDeviceMigration: Migration = {
  version: 15,
  name: 'access-session-device',
  up: `
    ALTER TABLE access_sessions ADD COLUMN device_id TEXT;
    ALTER TABLE access_sessions ADD COLUMN device_accepted_at TIMESTAMPTZ;
    CREATE INDEX access_sessions_device ON access_sessions(device_id) WHERE device_id IS NOT NULL;
  `,
};
