import type { Migration } from '../../migration.js';
import { coreMigration } from './0001-core.js';
import { usersMigration } from './0002-users.js';
import { noobMigration } from './0003-noob.js';
import { noobConsumedOobsMigration } from './0004-noob-consumed-oobs.js';
import { issuedCertificatesMigration } from './0005-issued-certificates.js';
import { brskiDevicesMigration } from './0008-brski-devices.js';
import { portalMigration } from './0006-portal.js';
import { accessSessionsMigration } from './0007-access-sessions.js';
import { noobRegisteredViaMigration } from './0009-noob-registered-via.js';
import { userPoliciesMigration } from './0011-user-policies.js';
import { accountingSessionsMigration } from './0010-accounting-sessions.js';
import { noobOobExpiryMigration } from './0012-noob-oob-expiry.js';
import { crlBaselinesMigration } from './0013-crl-baselines.js';
import { issuedCertificatesLineageMigration } from './0014-issued-certificates-lineage.js';
import { accessSessionDeviceMigration } from './0015-access-session-device.js';
import { accountingSessionsUpdatedMigration } from './0016-accounting-sessions-updated.js';
import { accountingSessionsByClientMigration } from './0017-accounting-sessions-by-client.js';

/** Every migration, in version order: the SQLite list's versions and names, step for step (sqlite/migrations/index.ts). */
export const migrations: readonly Migration[] = [
  coreMigration,
  usersMigration,
  noobMigration,
  noobConsumedOobsMigration,
  issuedCertificatesMigration,
  portalMigration,
  accessSessionsMigration,
  brskiDevicesMigration,
  noobRegisteredViaMigration,
  accountingSessionsMigration,
  userPoliciesMigration,
  noobOobExpiryMigration,
  crlBaselinesMigration,
  issuedCertificatesLineageMigration,
  accessSessionDeviceMigration,
  accountingSessionsUpdatedMigration,
  accountingSessionsByClientMigration,
];
