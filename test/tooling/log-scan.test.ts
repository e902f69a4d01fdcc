/**
 * The scan of every log line a test run writes (issue 8.6, test/helpers/log-scan-reporter.cjs):
 * the rules on synthetic capture files, the literals it collects, and two Jest runs of a fixture —
 * one whose loggers leak secrets (the run must exit non-zero and name each line) and one whose
 * loggers write clean lines (exit 0, "0 findings").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectLiterals, literalForms, parseRegistry, scanCapture, scanLine } from '../helpers/log-scan.cjs';
import { projectRoot } from '../helpers/proc.js';
import * as registry from '../helpers/test-secrets.js';

const root = projectRoot();
const literals = literalForms(new Map([['synthetic-Pass-4e2a', 'a synthetic password']]));
const line = (fields: Record<string, unknown>, msg = 'event'): string => JSON.stringify({ level: 30, time: 1_700_000_000_000, app: 'gangway', ...fields, msg });

describe('the rules, line by line', () => {
  test.each([
    ['an MSK field', line({ msk: 'a1b2c3d4e5f6' }), 'secret field', 'msk'],
    ['an EMSK as a serialised Uint8Array', line({ keys: { EMSK: { 0: 1, 1: 2 } } }), 'secret field', 'keys.EMSK'],
    ['a Kz in a child binding', line({ peer: { kz: 'S3o' } }), 'secret field', 'peer.kz'],
    ['a Noob', line({ Noob: 'bm9vYg' }), 'secret field', 'Noob'],
    ['a shared_secret', line({ client: { shared_secret: 'x' } }), 'secret field', 'client.shared_secret'],
    ['an NT hash', line({ 'nt-hash': '8846f7eaee8fb117ad06bdd830b7586c' }), 'secret field', 'nt-hash'],
    ['a private JWK', line({ pk: { kty: 'OKP', crv: 'X25519', x: 'pub', d: 'priv' } }), 'private JWK', 'pk.d'],
    ['a PEM private key in a message', line({}, 'loaded -----BEGIN PRIVATE KEY-----\nMIIE'), 'PEM private key', '-----BEGIN PRIVATE KEY-----'],
    ['an RSA PEM key in a non-JSON line', 'oops -----BEGIN RSA PRIVATE KEY----- MIIE', 'PEM private key', '-----BEGIN RSA PRIVATE KEY-----'],
    ['a known password in a message', line({}, 'login as alice with synthetic-Pass-4e2a'), 'test secret', 'a synthetic password'],
    ['a known password as hex', line({ data: Buffer.from('synthetic-Pass-4e2a').toString('hex') }), 'test secret', 'a synthetic password, as hex'],
  ])('%s is a finding', (_, text, rule, what) => {
    expect(scanLine(text, literals)).toContainEqual({ rule, what });
  });

  test.each([
    ['pino\'s censor', line({ password: '[redacted]', secret: '[redacted]', key: '[redacted]', msk: '[redacted]' })],
    ['names that only contain a secret word', line({ keyingMode: 'msk', emskMac: false, keyChain: 'emsk', noobId: 'abc', peerId: 'p1', secretFile: '/etc/x', passwordLockout: 3, basicPassword: 1 })],
    ['a flag or a count under a secret name', line({ emsk: true, key: 3, z: null, secret: '' })],
    ['a public JWK and a certificate', line({ pk: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } }, '-----BEGIN CERTIFICATE-----')],
    ['an ordinary line', line({ identity: 'alice', method: 'teap', result: 'accept', reason: 'wrong password for "alice"' })],
  ])('%s is clean', (_, text) => {
    expect(scanLine(text, literals)).toEqual([]);
  });
});

test('a capture directory: every .jsonl file and line counted, each finding located', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-logscan-synthetic-'));
  try {
    writeFileSync(join(dir, '100.jsonl'), `${line({ identity: 'alice' })}\n${line({ msk: 'abcd' })}\n`);
    writeFileSync(join(dir, '200.jsonl'), `${line({ keyingMode: 'msk' })}\n${line({}, 'synthetic-Pass-4e2a')}\n${line({ result: 'accept' })}\n`);
    writeFileSync(join(dir, 'notes.txt'), 'synthetic-Pass-4e2a\n');
    const r = scanCapture(dir, literals);
    expect({ files: r.files, lines: r.lines }).toEqual({ files: 2, lines: 5 });
    expect(r.findings.map((f) => [f.file, f.lineNumber, f.rule, f.time])).toEqual([
      ['100.jsonl', 2, 'secret field', 1_700_000_000_000],
      ['200.jsonl', 2, 'test secret', 1_700_000_000_000],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the literal secrets', () => {
  const collected = collectLiterals(root);

  test('the registry, as the reporter reads it, is what the fixtures import; each value is distinctive', () => {
    const parsed = parseRegistry(readFileSync(join(root, 'test', 'helpers', 'test-secrets.ts'), 'utf8'));
    expect(Object.fromEntries(parsed)).toEqual({ ...registry });
    for (const [, value] of parsed) {
      expect(value.length).toBeGreaterThanOrEqual(8);
      // collectLiterals leaves out what the product's sources contain; a registry value must not be left out.
      expect(collected.has(value)).toBe(true);
    }
  });

  test('literals assigned to secret-like names in test sources are collected; words the product uses are not', () => {
    for (const value of ['kill-nine-secret-5b7e', 'log-scan-secret-8c1d2e', 'carol-password', 'arctangent']) expect(collected.has(value)).toBe(true);
    for (const value of ['password', '[redacted]', 'secret']) expect(collected.has(value)).toBe(false);
  });
});

describe('a Jest run fails on a secret in any log line and passes on clean ones', () => {
  function jest(leak: boolean): { status: number | null; stderr: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, LEAK: leak ? '1' : '0' };
    delete env.GANGWAY_LOG_CAPTURE; // the inner run makes its own capture
    return spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', '--testMatch', '**/test/tooling/fixtures/leaky-log.ts'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  }

  test('leaks through createLog, MemoryLog, silentLog and a child process: 5 findings, exit non-zero', () => {
    const r = jest(true);
    const kept = /The captured lines are kept in (\S+)/.exec(r.stderr)?.[1];
    try {
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('1 passed'); // the test itself passed: the scan alone makes the run red
      expect(r.stderr).toMatch(/log scan: 4 log lines \([\d,]+ octets\) from 2 processes, .*: 5 findings/);
      for (const finding of ['test secret: test-secrets.ts ALICE_PASSWORD', 'secret field: kz', 'secret field: noob', 'secret field: z', 'PEM private key: -----BEGIN EC PRIVATE KEY-----']) expect(r.stderr).toContain(finding);
      expect(r.stderr).toContain('(during test/tooling/fixtures/leaky-log.ts)');
      expect(r.stderr).toContain('log scan FAILED: 5 findings');
      expect(kept).toBeDefined();
      expect(readdirSync(kept!).filter((n) => n.endsWith('.jsonl'))).toHaveLength(2);
    } finally {
      if (kept) rmSync(kept, { recursive: true, force: true });
    }
  }, 150_000);

  test('the same loggers with clean lines: 0 findings, exit 0', () => {
    const r = jest(false);
    expect({ status: r.status, summary: /log scan: .*/.exec(r.stderr)?.[0] }).toEqual({ status: 0, summary: expect.stringMatching(/^log scan: 4 log lines \([\d,]+ octets\) from 2 processes, .*: 0 findings$/) });
  }, 150_000);
});
