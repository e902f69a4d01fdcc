import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * A data directory with only a gangway.yaml: enough for the administrative commands, which need
 * the configuration (database path, method settings) but no certificates. `gangway init` makes the
 * real thing; these tests do not need its PKI.
 */
export function writeMinimalDataDir(dir: string, extra: Record<string, unknown> = {}): string {
  const config = {
    radius: { clients: [{ name: 'localhost', address: '127.0.0.1', secret: 'minimal-data-dir-secret' }] },
    methods: { 'eap-noob': { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org' } },
    ...extra,
  };
  writeFileSync(join(dir, 'gangway.yaml'), stringify(config), { mode: 0o600 });
  return join(dir, 'gangway.db');
}
