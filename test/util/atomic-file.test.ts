import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically, writeFileDurably } from '../../src/util/atomic-file.js';

describe('atomic files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-atomic-'));
  });
  afterEach(() => {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a new file gets its data and exactly its mode, and no temporary file stays', () => {
    const path = join(dir, 'server.key');
    writeFileAtomically(path, 'secret\n', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['server.key']);
  });

  test('replace: the old file is replaced whole', () => {
    const path = join(dir, 'gangway.yaml');
    writeFileSync(path, 'old: true\n');
    writeFileAtomically(path, new Uint8Array(Buffer.from('new: true\n')), { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('new: true\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('exclusive: an existing file is kept and the refusal is EEXIST; no temporary file stays', () => {
    const path = join(dir, 'ca.key');
    writeFileSync(path, 'the key in use');
    expect(() => writeFileAtomically(path, 'another key', { mode: 0o600, existing: 'exclusive' })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(path, 'utf8')).toBe('the key in use');
    expect(readdirSync(dir)).toEqual(['ca.key']);
  });

  test('a commit that fails (the name is a directory) leaves the target as it was and no temporary file', () => {
    const path = join(dir, 'ca.pem');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');
    expect(() => writeFileAtomically(path, 'cert', { mode: 0o644 })).toThrow();
    expect(statSync(path).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual(['ca.pem']);
  });

  test('writeFileDurably never writes over an existing file', () => {
    const path = join(dir, '.ca.key.pending');
    writeFileSync(path, 'earlier');
    expect(() => writeFileDurably(path, 'later', 0o600)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(path, 'utf8')).toBe('earlier');
  });
});
