/**
 * EAP-NOOB's ephemeral key pairs (src/noob/crypto/cryptosuites.ts `generateKeyPair`), made at every
 * Initial Exchange and every KeyingMode-2 Reconnect, on the server and in our peer.
 *
 * Node.js 20 can hang the process for good when the public key of a `generateKeyPairSync` pair is
 * exported with `KeyObject#export`: the export holds the key's lock while it allocates, the
 * allocation may collect the finished generation job, and the job's destructor takes the same lock.
 * On this machine a loop of generate-then-export stopped for good within 85,000 X25519 pairs or
 * 5,000 P-256 pairs, at the same count in every run. The loop runs in a child process, since a
 * hang of jest's own process could not be timed out.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ecdhSharedSecret, generateKeyPair, importPublicJwk, type Cryptosuite } from '../../../src/noob/crypto/cryptosuites.js';
import { projectRoot } from '../../helpers/proc.js';

function runChild(script: string, timeoutMs: number): Promise<{ code: number | null; timedOut: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}

test('100,000 X25519 and 20,000 P-256 key pairs in a row: the process never hangs', async () => {
  const module = join(projectRoot(), 'dist', 'noob', 'crypto', 'cryptosuites.js');
  if (!existsSync(module)) throw new Error(`${module} is missing: build first (npx tsc -p tsconfig.build.json)`);
  // About 6 s here; a hang is the child still running at the deadline.
  const script = `
    const { generateKeyPair } = await import(${JSON.stringify(module)});
    let made = 0;
    for (let i = 0; i < 20000; i++, made++) generateKeyPair(2);
    for (let i = 0; i < 100000; i++, made++) generateKeyPair(1);
    console.log('made', made);
  `;
  const run = await runChild(script, 75_000);
  expect({ timedOut: run.timedOut, code: run.code, stderr: run.stderr }).toEqual({ timedOut: false, code: 0, stderr: '' });
  expect(run.stdout.trim()).toBe('made 120000');
}, 90_000);

test.each<[string, Cryptosuite]>([
  ['X25519', 1],
  ['P-256', 2],
])('%s: the public JWK is the private key\'s (both ends of an exchange agree)', (_name, suite) => {
  for (let i = 0; i < 20; i++) {
    const a = generateKeyPair(suite);
    const b = generateKeyPair(suite);
    expect(a.publicJwk).not.toBe(b.publicJwk);
    const ab = ecdhSharedSecret(a.privateKey, importPublicJwk(suite, b.publicJwk));
    const ba = ecdhSharedSecret(b.privateKey, importPublicJwk(suite, a.publicJwk));
    expect(Buffer.from(ab).toString('hex')).toBe(Buffer.from(ba).toString('hex'));
    expect(ab).toHaveLength(32);
  }
});

test('the JWK text keeps the members in the order kty, crv, x[, y] and the Aalto "EC" spelling on request', () => {
  expect(generateKeyPair(1).publicJwk).toMatch(/^\{"kty":"OKP","crv":"X25519","x":"[A-Za-z0-9_-]{43}"\}$/);
  expect(generateKeyPair(1, { x25519KtyEc: true }).publicJwk).toMatch(/^\{"kty":"EC","crv":"X25519","x":"[A-Za-z0-9_-]{43}"\}$/);
  expect(generateKeyPair(2).publicJwk).toMatch(/^\{"kty":"EC","crv":"P-256","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}$/);
});
