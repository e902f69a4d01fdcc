/**
 * FreeRADIUS 3.2 as a reference server (`freeradius -f -d DIR`, a configuration written by
 * freeradius-config.ts into a temporary directory): the same certificates and account as Gangway
 * and hostapd, EAP-TLS (1.2 and 1.3) and PEAP-MSCHAPv2, no debug output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer } from './child-server.js';
import type { BenchFixture } from './fixture.js';
import { writeFreeradiusConfig } from './freeradius-config.js';
import { answersStatusServer } from './gangway-target.js';
import type { ServerTarget } from './target.js';
import { freeUdpPort } from './udp-port.js';

const START_TIMEOUT_MS = 20_000;
const ATTEMPTS = 3;

/** `freeradius -v` prints "radiusd: FreeRADIUS Version 3.2.1, for host ..." and exits 0. */
export function freeradiusVersion(path: string): string {
  let text = '';
  try {
    text = execFileSync(path, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const v = /FreeRADIUS Version ([\w.-]+)/.exec(text)?.[1];
  return v ? `FreeRADIUS ${v}` : 'FreeRADIUS (unknown version)';
}

/** Where the rlm_*.so modules are (Debian and most builds). */
export function freeradiusLibdir(): string | undefined {
  return ['/usr/lib/freeradius', '/usr/lib64/freeradius', '/usr/local/lib/freeradius', '/usr/lib/x86_64-linux-gnu/freeradius'].find((d) => existsSync(join(d, 'rlm_eap.so')));
}

export async function startFreeradiusTarget(path: string, fixture: BenchFixture, keepDir = false): Promise<ServerTarget> {
  const version = freeradiusVersion(path);
  const libdir = freeradiusLibdir();
  if (!libdir) throw new Error('FreeRADIUS modules (rlm_eap.so) not found under /usr/lib*/freeradius');
  const f = fixture.init.files;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-bench-freeradius-'));
    const port = await freeUdpPort();
    writeFreeradiusConfig({
      dir, port, secret: fixture.secret, libdir, caCert: f.caCert, serverCert: f.serverCert, serverKey: f.serverKey, user: fixture.teapUser, fragmentSize: 1398,
    });
    const child = new ChildServer('freeradius', path, ['-f', '-d', dir]);
    const cleanup = async (): Promise<void> => {
      await child.stop();
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    };
    try {
      await child.waitReady(() => answersStatusServer(port, fixture.secret, false), START_TIMEOUT_MS);
    } catch (err) {
      await cleanup();
      lastError = err as Error;
      if (/already in use|Failed binding/i.test(child.tail())) continue;
      throw err;
    }
    return { kind: 'freeradius', host: '127.0.0.1', port, secret: fixture.secret, pid: child.pid, version, stop: cleanup, tail: () => child.tail() };
  }
  throw lastError ?? new Error('FreeRADIUS did not start');
}
