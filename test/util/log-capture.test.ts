/**
 * GANGWAY_LOG_CAPTURE (src/util/log-capture.ts): a copy of each line, byte for byte, in
 * <dir>/<pid>.jsonl while the variable is set; nothing at all when it is not; a failing capture
 * never breaks logging.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { LOG_CAPTURE_ENV, logCaptureHook } from '../../src/util/log-capture.js';
import { createLog, silentLog } from '../../src/util/log.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } }), text: () => chunks.join('') };
}

describe('log capture', () => {
  let dir: string;
  const saved = process.env[LOG_CAPTURE_ENV];
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gangway-capture-test-')); });
  afterEach(() => {
    if (saved === undefined) delete process.env[LOG_CAPTURE_ENV];
    else process.env[LOG_CAPTURE_ENV] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  test('unset: no hook, and createLog writes only to its destination', () => {
    delete process.env[LOG_CAPTURE_ENV];
    expect(logCaptureHook()).toBeUndefined();
    const out = sink();
    createLog('debug', out.stream).info({ user: 'alice' }, 'hello');
    expect(out.text()).toContain('"msg":"hello"');
    expect(readdirSync(dir)).toEqual([]);
  });

  test('set: every line of createLog and its children, as written, in <dir>/<pid>.jsonl; silentLog writes there only', () => {
    process.env[LOG_CAPTURE_ENV] = dir;
    const out = sink();
    const log = createLog('debug', out.stream);
    log.info({ password: 'p4ss-value-x', identity: 'alice' }, 'one');
    log.child({ module: 'noob' }).debug({ n: 2 }, 'two');
    silentLog().debug({ n: 3 }, 'three');
    const captured = readFileSync(join(dir, `${process.pid}.jsonl`), 'utf8');
    expect(captured.startsWith(out.text())).toBe(true);
    const lines = captured.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(['one', 'two', 'three']);
    expect(lines[0]).toMatchObject({ password: '[redacted]', identity: 'alice' });
    expect(lines[1]).toMatchObject({ module: 'noob' });
  });

  test('an unwritable capture is reported once on stderr, and logging goes on', () => {
    const missing = join(dir, 'gone', 'deeper');
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { writes.push(String(s)); return true; });
    try {
      const hook = logCaptureHook({ [LOG_CAPTURE_ENV]: missing })!;
      expect(hook('{"a":1}\n')).toBe('{"a":1}\n');
      expect(hook('{"a":2}\n')).toBe('{"a":2}\n');
    } finally {
      spy.mockRestore();
    }
    expect(writes).toHaveLength(1);
    expect(writes[0]).toContain('log capture stopped');
    expect(existsSync(missing)).toBe(false);
  });
});
