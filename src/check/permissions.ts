import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fail, ok, warn, type CheckResult } from './result.js';

/**
 * Files holding secrets (gangway.yaml with the RADIUS secrets, private keys, the database with
 * password hashes) must not be readable by other users; the data directory must not be writable
 * by them.
 */
export function checkPrivateFile(subject: string, path: string): CheckResult {
  const stat = permissionBits(subject, path);
  if ('status' in stat) return stat;
  const { mode, octal } = stat;
  // A directory on the way that others cannot enter protects the file whatever its own mode says.
  const reach = reachableBy(path);
  if ((mode & 0o007) !== 0 && reach.others) return fail(subject, `${path} is accessible to every user (mode ${octal}); chmod 600 it`);
  if ((mode & 0o070) !== 0 && reach.group) return warn(subject, `${path} is accessible to its group (mode ${octal}); chmod 600 it unless the group is only the server's`);
  if ((mode & 0o077) !== 0) return ok(subject, `${path} mode ${octal}, but its directory lets no one else in (chmod 600 it anyway)`);
  return ok(subject, `${path} mode ${octal}`);
}

function permissionBits(subject: string, path: string): { mode: number; octal: string } | CheckResult {
  try {
    const mode = statSync(path).mode & 0o777;
    return { mode, octal: mode.toString(8).padStart(3, '0') };
  } catch (err) {
    return fail(subject, `cannot stat ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Whether group and others can traverse every directory above `path`. */
function reachableBy(path: string): { group: boolean; others: boolean } {
  let group = true;
  let others = true;
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    try {
      const mode = statSync(dir).mode;
      if ((mode & 0o010) === 0) group = false;
      if ((mode & 0o001) === 0) others = false;
    } catch {
      // An unreadable ancestor: we cannot tell; assume reachable (report the file's own mode).
    }
    if (dirname(dir) === dir) break;
  }
  return { group, others };
}

export function checkDataDirectory(subject: string, path: string): CheckResult {
  const stat = permissionBits(subject, path);
  if ('status' in stat) return stat;
  const { mode, octal } = stat;
  if ((mode & 0o022) !== 0) return fail(subject, `${path} is writable by other users (mode ${octal}): they could replace the configuration or the keys; chmod 700 it`);
  if ((mode & 0o005) !== 0) return warn(subject, `${path} is readable by every user (mode ${octal}); chmod 700 it`);
  return ok(subject, `${path} mode ${octal}`);
}
