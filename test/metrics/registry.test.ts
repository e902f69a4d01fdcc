import fc from 'fast-check';
import { MetricRegistry } from '../../src/metrics/registry.js';
import { escapeHelp, escapeLabelValue, formatNumber } from '../../src/metrics/text-format.js';
import { parseExposition, samples, value } from '../helpers/prometheus-text.js';

describe('metric registry: the Prometheus text format', () => {
  test('counters and gauges render HELP, TYPE and one line per child, in registration order', async () => {
    const r = new MetricRegistry();
    const requests = r.counter('t_requests_total', 'Requests.', ['client', 'code']);
    const a = requests.labels({ client: 'ap-1', code: 'Access-Request' });
    a.inc();
    a.inc(2);
    requests.labels({ client: 'ap-2', code: 'Status-Server' }).inc();
    r.gauge('t_engine', 'Engine in use.', ['engine']).labels({ engine: 'openssl' }).set(1);
    r.counter('t_plain_total', 'No labels.').labels().inc(5);
    expect(await r.render()).toBe(
      [
        '# HELP t_requests_total Requests.',
        '# TYPE t_requests_total counter',
        't_requests_total{client="ap-1",code="Access-Request"} 3',
        't_requests_total{client="ap-2",code="Status-Server"} 1',
        '# HELP t_engine Engine in use.',
        '# TYPE t_engine gauge',
        't_engine{engine="openssl"} 1',
        '# HELP t_plain_total No labels.',
        '# TYPE t_plain_total counter',
        't_plain_total 5',
        '',
      ].join('\n'),
    );
  });

  test('the same label values give the same child', () => {
    const family = new MetricRegistry().counter('t_total', 'x', ['a', 'b']);
    expect(family.labels({ a: '1', b: '2' })).toBe(family.labels({ b: '2', a: '1' }));
    expect(family.labels({ a: '1', b: '2' })).not.toBe(family.labels({ a: '12', b: '' }));
  });

  test('a histogram: cumulative buckets with an inclusive le, +Inf = count, sum', async () => {
    const r = new MetricRegistry();
    const h = r.histogram('t_seconds', 'Latency.', ['code'], [0.1, 1, 10]).labels({ code: 'Access-Accept' });
    for (const v of [0.05, 0.1, 0.5, 1, 3, 20, NaN]) h.observe(v);
    const e = parseExposition(await r.render());
    expect(e.types.get('t_seconds')).toBe('histogram');
    expect(samples(e, 't_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([['0.1', 2], ['1', 4], ['10', 5], ['+Inf', 6]]);
    expect(value(e, 't_seconds_count')).toBe(6);
    expect(value(e, 't_seconds_sum')).toBeCloseTo(24.65, 10);
    expect(samples(e, 't_seconds_bucket').every((s) => s.labels.code === 'Access-Accept')).toBe(true);
  });

  test('histogram invariants hold for any observations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 }), async (values) => {
        const r = new MetricRegistry();
        const bounds = [-1, 0, 0.5, 2, 100];
        const h = r.histogram('t_h', 'x', [], bounds).labels();
        for (const v of values) h.observe(v);
        const e = parseExposition(await r.render());
        const buckets = samples(e, 't_h_bucket');
        expect(buckets.map((b) => b.labels.le)).toEqual(['-1', '0', '0.5', '2', '100', '+Inf']);
        for (let i = 0; i < bounds.length; i++) expect(buckets[i]!.value).toBe(values.filter((v) => v <= bounds[i]!).length);
        expect(buckets[bounds.length]!.value).toBe(values.length);
        expect(value(e, 't_h_count')).toBe(values.length);
        expect(value(e, 't_h_sum')).toBeCloseTo(values.reduce((a, b) => a + b, 0), 3);
      }),
      { numRuns: 200 },
    );
  });

  test('any label value and HELP text survive escaping and read back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), async (label, help) => {
        const r = new MetricRegistry();
        r.counter('t_total', help, ['name']).labels({ name: label }).inc();
        const text = await r.render();
        // One sample line whatever the value holds: a line feed in it cannot start a new sample.
        expect(text.split('\n').filter((l) => l.startsWith('t_total'))).toHaveLength(1);
        const e = parseExposition(text);
        expect(e.help.get('t_total')).toBe(help);
        expect(samples(e, 't_total')).toEqual([{ name: 't_total', labels: { name: label }, value: 1 }]);
      }),
      { numRuns: 300 },
    );
  });

  test('escapes and numbers as the format spells them', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeHelp('a"b\\c\nd')).toBe('a"b\\\\c\\nd');
    expect([Infinity, -Infinity, NaN, 0, 1.5, 1e-7].map(formatNumber)).toEqual(['+Inf', '-Inf', 'NaN', '0', '1.5', '1e-7']);
  });

  test('scrape hooks run before each rendering, mirrored counters show the source', async () => {
    const r = new MetricRegistry();
    let source = 3;
    const c = r.counter('t_mirror_total', 'x').labels();
    r.onScrape(async () => c.mirror(source));
    expect(value(parseExposition(await r.render()), 't_mirror_total')).toBe(3);
    source = 7;
    expect(value(parseExposition(await r.render()), 't_mirror_total')).toBe(7);
  });

  test('bad names, labels, buckets and duplicates are refused when registering', () => {
    const r = new MetricRegistry();
    expect(() => r.counter('t-x_total', 'x')).toThrow(/invalid metric name/);
    expect(() => r.counter('t_requests', 'x')).toThrow(/must end in _total/);
    expect(() => r.gauge('t_g', 'x', ['__reserved'])).toThrow(/invalid label name/);
    expect(() => r.gauge('t_g', 'x', ['a', 'a'])).toThrow(/named twice/);
    expect(() => r.histogram('t_h', 'x', ['le'], [1])).toThrow(/invalid label name/);
    expect(() => r.histogram('t_h', 'x', [], [])).toThrow(/at least one bucket/);
    expect(() => r.histogram('t_h', 'x', [], [1, 1])).toThrow(/increasing/);
    expect(() => r.histogram('t_h', 'x', [], [1, Infinity])).toThrow(/finite/);
    r.gauge('t_once', 'x');
    expect(() => r.counter('t_once_total', 'x')).not.toThrow();
    expect(() => r.gauge('t_once', 'x')).toThrow(/registered twice/);
    const family = r.counter('t_l_total', 'x', ['a']);
    expect(() => family.labels({} as { a: string })).toThrow(/label a has no value/);
  });
});

describe('metric registry: snapshots of other threads summed at render', () => {
  test('counters and histograms of a snapshot add to the children of the same labels; new label values appear; own values are not changed', async () => {
    const families = (r: MetricRegistry) => ({
      started: r.counter('t_started_total', 'Started.', ['method']),
      rounds: r.histogram('t_rounds', 'Rounds.', ['method'], [1, 5]),
      engine: r.gauge('t_engine', 'Engine.', ['engine']),
    });
    const primary = new MetricRegistry();
    const worker = new MetricRegistry();
    const P = families(primary);
    const W = families(worker);
    P.started.labels({ method: 'eap-tls' }).inc(2);
    W.started.labels({ method: 'eap-tls' }).inc(3);
    W.started.labels({ method: 'teap' }).inc(1);
    W.engine.labels({ engine: 'openssl' }).set(1);
    P.rounds.labels({ method: 'eap-tls' }).observe(4);
    W.rounds.labels({ method: 'eap-tls' }).observe(1);
    W.rounds.labels({ method: 'eap-tls' }).observe(9);
    const snapshot = worker.snapshot();
    // Gauges say one thread's own state: not part of a snapshot.
    expect(snapshot.map((f) => f.name)).toEqual(['t_started_total', 't_rounds']);
    const e = parseExposition(await primary.render([...snapshot, ...snapshot]));
    expect(value(e, 't_started_total', { method: 'eap-tls' })).toBe(8);
    expect(value(e, 't_started_total', { method: 'teap' })).toBe(2);
    expect(value(e, 't_rounds_count', { method: 'eap-tls' })).toBe(5);
    expect(value(e, 't_rounds_sum', { method: 'eap-tls' })).toBe(24);
    expect(value(e, 't_rounds_bucket', { method: 'eap-tls', le: '1' })).toBe(2);
    expect(value(e, 't_rounds_bucket', { method: 'eap-tls', le: '5' })).toBe(3);
    expect(value(e, 't_rounds_bucket', { method: 'eap-tls', le: '+Inf' })).toBe(5);
    const alone = parseExposition(await primary.render());
    expect(value(alone, 't_started_total', { method: 'eap-tls' })).toBe(2);
    expect(samples(alone, 't_started_total')).toHaveLength(1);
  });

  test('snapshot filter: only the families asked for', () => {
    const r = new MetricRegistry();
    r.counter('a_total', 'A.');
    r.counter('b_total', 'B.');
    expect(r.snapshot((name) => name.startsWith('a')).map((f) => f.name)).toEqual(['a_total']);
  });
});
