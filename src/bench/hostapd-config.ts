/**
 * hostapd's integrated RADIUS/EAP server (driver=none) as configuration files. Shared by the
 * benchmark and the interop tests, which start hostapd 2.10 as a reference server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HostapdRadiusConfig {
  /** Directory the files are written to (it must exist). */
  dir: string;
  port: number;
  /** Secret for RADIUS clients from `clientAddr`. */
  secret: string;
  /** Content of the eap_user file (phase 1 users, and phase 2 users marked [2]). */
  eapUsers: string;
  /** Further hostapd.conf lines: certificates, TEAP settings, tls_flags, fragment_size... */
  settings: string;
  /** Allowed RADIUS client network; default 127.0.0.1/32. */
  clientAddr?: string;
  /** logger_stdout_level: 0 (debug, the default for tests) ... 4 (warnings only). */
  loggerLevel?: number;
}

/** Writes hostapd.conf, eap_user and radius_clients into `dir`; returns the hostapd.conf path. */
export function writeHostapdRadiusConfig(c: HostapdRadiusConfig): string {
  const clients = join(c.dir, 'radius_clients');
  const users = join(c.dir, 'eap_user');
  const conf = join(c.dir, 'hostapd.conf');
  writeFileSync(clients, `${c.clientAddr ?? '127.0.0.1/32'} ${c.secret}\n`, { mode: 0o600 });
  writeFileSync(users, c.eapUsers, { mode: 0o600 });
  writeFileSync(
    conf,
    [
      'driver=none',
      // Interface names are at most 15 characters; nothing is created for driver=none.
      `interface=gw${c.port}`,
      'logger_stdout=-1',
      `logger_stdout_level=${c.loggerLevel ?? 0}`,
      'eap_server=1',
      `eap_user_file=${users}`,
      `radius_server_clients=${clients}`,
      `radius_server_auth_port=${c.port}`,
      c.settings,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return conf;
}
