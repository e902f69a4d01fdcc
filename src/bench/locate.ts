/** Where the pieces a benchmark runs live, seen from the installed Gangway. */
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';

function isGangwayRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'gangway';
  } catch {
    return false;
  }
}

/**
 * `dist/cli/main.js`: the script this process was started as when that is Gangway's CLI (the usual
 * case, `gangway bench`), otherwise the one under the Gangway package root above the working directory.
 */
export function gangwayMainPath(): string | undefined {
  const script = process.argv[1];
  if (script !== undefined && basename(script) === 'main.js' && existsSync(script)) {
    const real = realpathSync(script);
    if (isGangwayRoot(join(dirname(real), '..', '..'))) return real;
  }
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (isGangwayRoot(dir)) {
      const main = join(dir, 'dist', 'cli', 'main.js');
      return existsSync(main) ? main : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The hostapd that scripts/build-hostap-tools.sh builds into the package's .tools/hostap. */
export function defaultHostapdPath(gangwayMain: string): string {
  return resolve(dirname(gangwayMain), '..', '..', '.tools', 'hostap', 'hostapd');
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** FreeRADIUS's server binary: `freeradius` (Debian) or `radiusd` on PATH, or in /usr/sbin. */
export function defaultFreeradiusPath(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const name of ['freeradius', 'radiusd']) {
    for (const d of dirs) {
      const p = join(d, name);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}
