/**
 * hostapd 2.10's integrated RADIUS/EAP server as the reference server: the same certificates and
 * the same TEAP account as Gangway, EAP-TLS for any identity, TLS 1.3 enabled (as Gangway has it),
 * default logging only (debug logging would be measured as server CPU).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer } from './child-server.js';
import type { BenchFixture } from './fixture.js';
import { writeHostapdRadiusConfig } from './hostapd-config.js';
import type { ServerTarget } from './target.js';
import { freeUdpPort, udpPortBound } from './udp-port.js';

const START_TIMEOUT_MS = 15_000;
const ATTEMPTS = 3;

/** `hostapd -v` prints "hostapd v2.10" and the copyright on stderr and exits 1. */
export function hostapdVersion(path: string): string {
  let text = '';
  try {
    execFileSync(path, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    text = `${e.stderr ?? ''}${e.stdout ?? ''}`;
  }
  return /hostapd v[\w.-]+/.exec(text)?.[0] ?? 'hostapd (unknown version)';
}

export async function startHostapdTarget(path: string, fixture: BenchFixture, keepDir = false): Promise<ServerTarget> {
  const version = hostapdVersion(path);
  const eapUsers = [
    `"${fixture.teapOuterIdentity}" TEAP`,
    `"${fixture.peapOuterIdentity}" PEAP`,
    `"${fixture.teapUser.name}" MSCHAPV2 "${fixture.teapUser.password}" [2]`,
    '* TLS',
    '',
  ].join('\n');
  const f = fixture.init.files;
  const settings = [
    `ca_cert=${f.caCert}`,
    `server_cert=${f.serverCert}`,
    `private_key=${f.serverKey}`,
    'tls_flags=[ENABLE-TLSv1.3]',
    'fragment_size=1398',
    // TEAP needs these even though no PAC is ever issued to our peer.
    'pac_opaque_encr_key=000102030405060708090a0b0c0d0e0f',
    'eap_fast_a_id=101112131415161718191a1b1c1d1e1f',
    'eap_fast_a_id_info=gangway bench',
  ].join('\n');
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-bench-hostapd-'));
    const port = await freeUdpPort();
    const conf = writeHostapdRadiusConfig({ dir, port, secret: fixture.secret, eapUsers, settings, loggerLevel: 2 });
    const child = new ChildServer('hostapd', path, [conf]);
    const cleanup = async (): Promise<void> => {
      await child.stop();
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    };
    try {
      // hostapd answers nothing unauthenticated (not even Status-Server): wait for its socket.
      await child.waitReady(() => udpPortBound(port), START_TIMEOUT_MS);
    } catch (err) {
      await cleanup();
      lastError = err as Error;
      if (/Address already in use/i.test(child.tail())) continue;
      throw err;
    }
    return { kind: 'hostapd', host: '127.0.0.1', port, secret: fixture.secret, pid: child.pid, version, stop: cleanup, tail: () => child.tail() };
  }
  throw lastError ?? new Error('hostapd did not start');
}
