/**
 * Where the addon did not build (no compiler at `npm install`), the built modules must still load,
 * say once why they fall back to node:tls, and refuse an explicit `tls.engine: openssl`. The built
 * TLS modules are copied to a directory with no native/ next to them and run in a child process.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../helpers/proc.js';
import { testPki } from '../../helpers/pki.js';

const dist = join(projectRoot(), 'dist', 'eap-methods');

test('without the addon: node:tls with one warning; an explicit openssl engine is an error', async () => {
  if (!existsSync(join(dist, 'tls-engine', 'server-context.js'))) throw new Error(`${dist} is missing: build first (npx tsc -p tsconfig.build.json)`);
  const pki = await testPki();
  const root = mkdtempSync(join(tmpdir(), 'gangway-no-addon-'));
  try {
    mkdirSync(join(root, 'dist', 'eap-methods'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{"type":"module"}');
    for (const f of ['tls-tunnel.js', 'certificate-identity.js', 'tls-engine']) cpSync(join(dist, f), join(root, 'dist', 'eap-methods', f), { recursive: true });
    // The addon's loader, which finds no native/ beside this copy.
    cpSync(join(dist, '..', 'util', 'native-addon.js'), join(root, 'dist', 'util', 'native-addon.js'));
    writeFileSync(join(root, 'pki.json'), JSON.stringify(pki));
    writeFileSync(join(root, 'probe.mjs'), `
      import { readFileSync } from 'node:fs';
      import { createTlsServerContext, resolveTlsEngine } from './dist/eap-methods/tls-engine/server-context.js';
      const pki = JSON.parse(readFileSync(new URL('./pki.json', import.meta.url), 'utf8'));
      const opts = { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true };
      const out = { first: resolveTlsEngine(undefined), second: resolveTlsEngine(undefined), context: createTlsServerContext(opts).engine };
      try { resolveTlsEngine('openssl'); out.explicit = 'accepted'; } catch (err) { out.explicit = err.message; }
      console.log(JSON.stringify(out));
    `);
    const run = spawnSync(process.execPath, [join(root, 'probe.mjs')], { encoding: 'utf8' });
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    const result = JSON.parse(run.stdout) as Record<string, string>;
    expect(result).toMatchObject({ first: 'node', second: 'node', context: 'node' });
    expect(result.explicit).toMatch(/tls\.engine is openssl but the native TLS engine did not load \(Cannot find module/);
    // One loud line, however many methods ask.
    expect(run.stderr.match(/native TLS engine unavailable: using the slower node:tls engine/g)).toHaveLength(1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
