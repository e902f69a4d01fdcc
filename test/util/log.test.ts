import { Writable } from 'node:stream';
import { DEFAULT_EAP_LIMITS, EapAuthenticator } from '../../src/eap-methods/authenticator.js';
import { encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { MethodSelector } from '../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../src/eap-methods/registry.js';
import { createLog } from '../../src/util/log.js';
import { LOG_FIELD_MAX, clipForLog, clipLogFields, summariseList } from '../../src/util/log-fields.js';
import { LogLimiter } from '../../src/util/log-limiter.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { log: createLog('debug', sink), lines, raw };
}

describe('log fields', () => {
  test('clipping says how long the original was; lists are summarised', () => {
    expect(clipForLog('short')).toBe('short');
    const long = 'x'.repeat(5000);
    expect(clipForLog(long)).toBe(`${'x'.repeat(LOG_FIELD_MAX)}…[5000 chars]`);
    expect(summariseList([1, 2, 3])).toBe('[1,2,3]');
    expect(summariseList(Array.from({ length: 100 }, (_, i) => i))).toBe('[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,… 84 more]');
  });

  test('the net under every line: strings, long arrays and nested objects clipped; errors untouched', () => {
    const err = new Error('e'.repeat(1000));
    const out = clipLogFields({ a: 'y'.repeat(300), list: Array.from({ length: 40 }, () => 'z'.repeat(500)), nested: { b: 'w'.repeat(300) }, err, n: 5 });
    expect((out.a as string).length).toBeLessThan(300);
    expect(typeof out.list).toBe('string');
    expect(((out.nested as { b: string }).b).length).toBeLessThan(300);
    expect(out.err).toBe(err);
    expect(out.n).toBe(5);
  });

  test('children are made when they first write: bindings of every generation, levels of the root', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const log = createLog('info', sink);
    const conversation = log.child({ conversation: 'c1' });
    const inner = conversation.child({ method: 'eap-mschapv2' });
    inner.debug({ step: 1 }, 'below the level: nothing written');
    conversation.debug({ step: 2 }, 'below the level: nothing written');
    expect(lines).toHaveLength(0);
    inner.info({ step: 3 }, 'inner');
    conversation.warn({ step: 4 }, 'outer');
    inner.child({ round: 7 }).error({ step: 5, password: 'not-to-be-seen' }, 'grandchild');
    expect(lines.map((l) => [l.msg, l.conversation, l.method, l.round, l.step])).toEqual([
      ['inner', 'c1', 'eap-mschapv2', undefined, 3],
      ['outer', 'c1', undefined, undefined, 4],
      ['grandchild', 'c1', 'eap-mschapv2', 7, 5],
    ]);
    expect(lines[2]!.password).toBe('[redacted]');
  });

  test('createLog clips fields and bindings, and still redacts secrets', () => {
    const { log, lines } = capture();
    log.child({ identity: 'i'.repeat(4000) }).info({ user: 'u'.repeat(4000), secret: 'hunter2-hunter2', password: 'pw', nested: { key: 'k' } }, 'm'.repeat(4000));
    const line = lines[0]!;
    expect(String(line.identity).length).toBeLessThan(300);
    expect(String(line.user).length).toBeLessThan(300);
    expect(String(line.msg).length).toBeLessThan(600);
    expect(line).toMatchObject({ secret: '[redacted]', password: '[redacted]', nested: { key: '[redacted]' } });
  });

  test('the log limiter: one line per key per window, then the count held back', () => {
    let now = 0;
    const limiter = new LogLimiter(10_000, () => now);
    expect(limiter.admit('a')).toBe(0);
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('a')).toBeUndefined();
    expect(limiter.admit('b')).toBe(0);
    now = 10_000;
    expect(limiter.admit('a')).toBe(2);
  });

  test('EAP layer: a 4,002-octet Nak gives one bounded line; a burst of invalid Responses one warning', async () => {
    const { log, lines, raw } = capture();
    const registry = new MethodRegistry();
    registry.register({ type: 200, name: 'a', createSession: () => ({ start: async () => ({ kind: 'request', data: Uint8Array.of(1) }), step: async () => ({ kind: 'discard', reason: 'junk '.repeat(200) }), dispose: () => undefined }) });
    const eap = new EapAuthenticator(registry, new MethodSelector([], ['a']), { ...DEFAULT_EAP_LIMITS, maxInvalidPackets: 1000, maxRounds: 1000 }, log);
    const nas = { clientName: 'nas' };
    const first = await eap.handle({ eap: encodeEap({ code: 2, identifier: 1, type: EapType.Identity, data: Buffer.from('alice') }), nas });
    if (first.kind !== 'challenge') throw new Error('expected a challenge');
    const nak = await eap.handle({ eap: encodeEap({ code: 2, identifier: first.eap[1]!, type: EapType.Nak, data: new Uint8Array(3997).fill(7) }), state: first.state, nas });
    expect(nak.kind).toBe('reject');
    expect((nak as { reason: string }).reason.length).toBeLessThan(200);
    // A new conversation that answers junk 200 times.
    const c2 = await eap.handle({ eap: encodeEap({ code: 2, identifier: 1, type: EapType.Identity, data: Buffer.from('bob') }), nas });
    if (c2.kind !== 'challenge') throw new Error('expected a challenge');
    const id = c2.eap[1]!;
    for (let i = 0; i < 200; i++) await eap.handle({ eap: encodeEap({ code: 2, identifier: id, type: 200, data: Uint8Array.of(0) }), state: c2.state, nas });
    const warnings = lines.filter((l) => l.level === 40 && l.msg === 'invalid EAP Response ignored');
    expect(warnings).toHaveLength(1);
    expect(lines.filter((l) => l.level === 20 && l.msg === 'invalid EAP Response ignored').length).toBe(199);
    expect(Math.max(...raw.map((l) => l.length))).toBeLessThan(1024);
    eap.close();
  });
});
