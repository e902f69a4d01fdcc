import { randomBytes } from 'node:crypto';
import type { Stores } from '../store/stores.js';
import { hashPassword } from '../store/users.js';

/** A random portal password: 120 bits, URL-safe so it survives copy and paste. */
export function newPortalPassword(): string {
  return randomBytes(15).toString('base64url');
}

/**
 * A user with a portal login and administrator rights but no network credentials (the portal
 * password is not a Wi-Fi password). Returns the password for the caller to show once.
 */
export async function createPortalAdmin(
  stores: Pick<Stores, 'users' | 'portalAccounts'>,
  name: string,
  password = newPortalPassword(),
): Promise<{ name: string; password: string }> {
  const users = stores.users;
  if (!(await users.get(name))) await users.add({ name });
  await stores.portalAccounts.setPassword(name, await hashPassword(password), { admin: true });
  return { name, password };
}
