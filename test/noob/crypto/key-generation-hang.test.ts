/**
 * EAP-NOOB's ephemeral key pairs (src/noob/crypto/cryptosuites.ts `generateKeyPair`), made at every
 * Initial Exchange and every KeyingMode-2 or -3 Reconnect, on the server and in our peer.
 *
 * Node.js 20 can hang the process for good when a key of a `generateKeyPairSync` pair is exported
 * with `KeyObject#export`: the export holds the key's lock while it allocates, the allocation may
 * collect the finished generation job, and the job's destructor takes the same lock. Where a loop
 * of generate-then-export stops depends on the collector (750 to 12,500 P-256 pairs here); a 1 MB
 * semi-space makes it collect often, and the old code then hung within 10,000 pairs of either
 * suite. The loop runs in a child process: a hang of jest's own could not be timed out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ecdhSharedSecret, generateKeyPair, importPublicJwk, type Cryptosuite } from '../../../src/noob/crypto/cryptosuites.js';
import { projectRoot } from '../../helpers/proc.js';

const PAIRS_PER_SUITE = 35_000;
/** The last this many pairs are also used for a shared secret. */
const SHARED_SECRET_PAIRS = 10_000;
const PROGRESS_EVERY = 1_000;
/** A child that reports no progress for this long is hung (a deadlocked one uses no CPU at all). */
const STALL_MS = 30_000;

interface ChildRun {
  code: number | null;
  stalled: boolean;
  made: number;
  stderr: string;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  // A test that timed out leaves no child behind.
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/** Runs `script`, which prints a line per PROGRESS_EVERY pairs; killed once it stops progressing. */
function runWatched(script: string): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // An inherited NODE_OPTIONS (jest's own runners set none that matter here) must not change the collector.
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    children.add(child);
    let made = 0;
    let stderr = '';
    let stalled = false;
    let lastProgress = Date.now();
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (/^\d+$/.test(line)) made = Number(line);
      lastProgress = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const watch = setInterval(() => {
      if (Date.now() - lastProgress > STALL_MS) {
        stalled = true;
        child.kill('SIGKILL');
      }
    }, 1000);
    // 'close', not 'exit': the last progress line may still be in the pipe at 'exit'.
    child.on('close', (code) => {
      clearInterval(watch);
      children.delete(child);
      resolve({ code, stalled, made, stderr });
    });
  });
}

test.each<[string, Cryptosuite]>([
  ['X25519', 1],
  ['P-256', 2],
])(`%s: ${PAIRS_PER_SUITE.toLocaleString('en')} key pairs in a row (the last ${SHARED_SECRET_PAIRS.toLocaleString('en')} used for a shared secret, as the method does) with a 1 MB semi-space: the process never hangs`, async (_name, suite) => {
  const module = join(projectRoot(), 'dist', 'noob', 'crypto', 'cryptosuites.js');
  if (!existsSync(module)) throw new Error(`${module} is missing: build first (npx tsc -p tsconfig.build.json)`);
  const script = `
    const { generateKeyPair, importPublicJwk, ecdhSharedSecret } = await import(${JSON.stringify(module)});
    const other = importPublicJwk(${suite}, generateKeyPair(${suite}).publicJwk);
    for (let i = 1; i <= ${PAIRS_PER_SUITE}; i++) {
      // Generation alone first: the old code hung here (a loop that also computes the secret
      // allocates more between pairs, and the old code then got through 25,000 in one run).
      const pair = generateKeyPair(${suite});
      // Then as the method uses them: the private key keeps the generation job's lock.
      if (i > ${PAIRS_PER_SUITE - SHARED_SECRET_PAIRS}) ecdhSharedSecret(pair.privateKey, other);
      if (i % ${PROGRESS_EVERY} === 0) console.log(i);
    }
  `;
  const run = await runWatched(script);
  expect(run).toEqual({ code: 0, stalled: false, made: PAIRS_PER_SUITE, stderr: '' });
}, 180_000);

test('the public key is never exported from the generated pair: it comes out of the generation encoded', () => {
  // The structural half of the property above, without waiting for the collector.
  // Node.js defines export on the public and the private key classes, not on KeyObject itself.
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo', x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo' }, format: 'jwk' });
  const classes = [Object.getPrototypeOf(createPublicKey(privateKey)) as { export: unknown }, Object.getPrototypeOf(privateKey) as { export: unknown }];
  const spies = classes.map((prototype) =>
    jest.spyOn(prototype as { export: () => never }, 'export').mockImplementation(() => {
      throw new Error('KeyObject#export called');
    }),
  );
  try {
    expect(() => createPublicKey(privateKey).export({ format: 'jwk' })).toThrow('KeyObject#export called');
    expect(() => privateKey.export({ format: 'jwk' })).toThrow('KeyObject#export called');
    spies.forEach((spy) => spy.mockClear());
    expect(generateKeyPair(1).publicJwk).toMatch(/^\{"kty":"OKP","crv":"X25519","x":"[A-Za-z0-9_-]{43}"\}$/);
    expect(generateKeyPair(1, { x25519KtyEc: true }).publicJwk).toMatch(/^\{"kty":"EC","crv":"X25519","x":"[A-Za-z0-9_-]{43}"\}$/);
    expect(generateKeyPair(2).publicJwk).toMatch(/^\{"kty":"EC","crv":"P-256","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}$/);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
});

test.each<[string, Cryptosuite]>([
  ['X25519', 1],
  ['P-256', 2],
])("%s: the public JWK is the private key's (both ends of an exchange agree)", (_name, suite) => {
  for (let i = 0; i < 20; i++) {
    const a = generateKeyPair(suite);
    const b = generateKeyPair(suite);
    expect(a.publicJwk).not.toBe(b.publicJwk);
    const ab = ecdhSharedSecret(a.privateKey, importPublicJwk(suite, b.publicJwk));
    const ba = ecdhSharedSecret(b.privateKey, importPublicJwk(suite, a.publicJwk));
    expect(ab).toHaveLength(32);
    expect(Buffer.from(ab).toString('hex')).toBe(Buffer.from(ba).toString('hex'));
  }
});
