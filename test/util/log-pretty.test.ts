import { PassThrough } from 'node:stream';
import { createLog } from '../../src/util/log.js';
import { formatLogLine, prettyLogStream } from '../../src/util/log-pretty.js';

describe('readable log lines (gangway serve --debug)', () => {
  test('a pino line becomes time, level, module, message and key=value fields', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 67).getTime();
    const line = JSON.stringify({ level: 20, time, pid: 1, hostname: 'h', app: 'gangway', module: 'access', client: 'nas-1', in: 'Response/Identity id=1 len=10', rounds: 3, msg: 'EAP step' });
    expect(formatLogLine(line)).toBe('03:04:05.067 DEBUG [access] EAP step  client=nas-1 in="Response/Identity id=1 len=10" rounds=3\n');
  });

  test('device-supplied strings are escaped; an error shows its stack on indented lines', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)\n    at g (y.js:2:2)' };
    const out = formatLogLine(JSON.stringify({ level: 50, time: 0, msg: 'failed\u001b[2J', identity: 'evil\r\u202e', err }));
    expect(out).not.toMatch(/[\u001b\r\u202e]/);
    expect(out).toContain('ERROR failed\\x1b[2J');
    expect(out).toContain('identity=evil\\r\\u202e');
    expect(out).toContain('err=boom\n    at f (x.js:1:1)\n    at g (y.js:2:2)\n');
  });

  test('lines that are not JSON pass through escaped; colour only when asked for', () => {
    expect(formatLogLine('not json \u009b')).toBe('not json \\x9b\n');
    expect(formatLogLine(JSON.stringify({ level: 40, time: 0, msg: 'w' }), { colour: true })).toContain('\x1b[33mWARN \x1b[0m');
  });

  test('createLog writes through the stream: one readable line per record, secrets still redacted', async () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (d: Buffer) => void (text += d.toString()));
    const log = createLog('debug', prettyLogStream(sink));
    log.child({ module: 'radius' }).debug({ client: 'nas-1', secret: 'do-not-print' }, 'Status-Server answered');
    log.info({ n: 1 }, 'second');
    await new Promise((r) => setImmediate(r));
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG \[radius\] Status-Server answered  client=nas-1 secret=\[redacted\]$/);
    expect(lines[1]).toMatch(/INFO  second  n=1$/);
  });
});
