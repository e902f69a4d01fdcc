import { randomBytes } from 'node:crypto';
import type { SqliteDatabase } from '../store/sqlite/database.js';
import { SqlitePortalAccountStore } from '../store/sqlite/portal.js';
import { SqliteUserStore } from '../store/sqlite/users.js';
import { hashPassword } from '../store/users.js';

/** A random portal password: 120 bits, URL-safe so it survives copy and paste. */
export function newPortalPassword(): string {
  return randomBytes(15).toString('base64url');
}

/**
 * A user with a portal login and administrator rights but no network credentials (the portal
 * password is not a Wi-Fi password). Returns the password for the caller to show once.
 */
export async function createPortalAdmin(db: SqliteDatabase, name: string, password = newPortalPassword()): Promise<{ name: string; password: string }> {
  const users = new SqliteUserStore(db);
  if (!(await users.get(name))) await users.add({ name });
  await new SqlitePortalAccountStore(db).setPassword(name, await hashPassword(password), { admin: true });
  return { name, password };
}
