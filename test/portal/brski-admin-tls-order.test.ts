import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { testPki } from '../helpers/pki.js';

/**
 * Node 20: X509Certificate.toLegacyObject() before node:tls is first loaded leaves
 * tls.createSecureContext undefined for the whole process (every later TLS connection throws).
 * The portal's revoke path reads a certificate that way; its module loads node:tls first. Shown in a
 * fresh process, where nothing else has loaded node:tls yet (found when a test file after the
 * portal's revoke test failed with "tls.createSecureContext is not a function").
 */
test('importing the portal\'s BRSKI administration loads node:tls before any certificate is read the legacy way', async () => {
  const pki = await testPki();
  const module = pathToFileURL(join(__dirname, '../../dist/portal/brski-admin.js')).href;
  const script = (withModule: boolean) => `
    const { X509Certificate } = await import('node:crypto');
    ${withModule ? `await import(${JSON.stringify(module)});` : ''}
    new X509Certificate(process.env.CERT).toLegacyObject();
    process.stdout.write(typeof (await import('node:tls')).createSecureContext);
  `;
  const run = (withModule: boolean) => execFileSync(process.execPath, ['--input-type=module', '-e', script(withModule)], { env: { ...process.env, CERT: pki.client.certPem }, encoding: 'utf8' });
  // The Node bug itself, so that this test notices when a Node version fixes it.
  expect(run(false)).toBe('undefined');
  expect(run(true)).toBe('function');
});
