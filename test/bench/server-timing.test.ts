import { MetricRegistry, type HistogramChild } from '../../src/metrics/registry.js';
import { REQUEST_SECONDS } from '../../src/server/metrics.js';
import {
  ServerTimingError, histogramDifference, quantileUpperBound, readRequestHistogram, serverTimeFromScrapes, summarizeServerTime,
} from '../../src/bench/server-timing.js';

const M = 'gangway_radius_request_duration_seconds';
const BOUNDS = ['0.001', '0.0025', '0.005', '0.01', '+Inf'];

/** Exposition text of the histogram: per (service, code), cumulative counts per bound, sum and count. */
function exposition(series: { service: string; code: string; cumulative: number[]; sum: number }[]): string {
  let text = `# HELP ${M} From a request's datagram arriving to its reply being sent.\n# TYPE ${M} histogram\n`;
  for (const s of series) {
    const l = `service="${s.service}",code="${s.code}"`;
    s.cumulative.forEach((c, i) => (text += `${M}_bucket{${l},le="${BOUNDS[i]}"} ${c}\n`));
    text += `${M}_sum{${l}} ${s.sum}\n${M}_count{${l}} ${s.cumulative[s.cumulative.length - 1]}\n`;
  }
  // Neighbours that must not be read: another metric, and a counter whose name shares the prefix.
  return `${text}# TYPE gangway_radius_requests_total counter\ngangway_radius_requests_total{service="authentication",client="nas",code="Access-Request"} 999\n`;
}

const before = exposition([
  { service: 'authentication', code: 'Access-Challenge', cumulative: [10, 18, 20, 20, 20], sum: 0.03 },
  { service: 'authentication', code: 'Access-Accept', cumulative: [0, 1, 2, 2, 2], sum: 0.006 },
  { service: 'accounting', code: 'Accounting-Response', cumulative: [5, 5, 5, 5, 5], sum: 0.001 },
]);
// 200 more requests: 100 within 1 ms, 80 in (1, 2.5], 17 in (2.5, 5], 2 in (5, 10], 1 above.
const after = exposition([
  { service: 'authentication', code: 'Access-Challenge', cumulative: [100, 168, 184, 185, 186], sum: 0.4 },
  { service: 'authentication', code: 'Access-Accept', cumulative: [10, 31, 35, 36, 36], sum: 0.106 },
  { service: 'accounting', code: 'Accounting-Response', cumulative: [900, 900, 900, 900, 900], sum: 0.2 },
]);

describe('server time from two scrapes of /metrics', () => {
  test('the difference of the authentication histograms, percentiles as bucket bounds', () => {
    expect(readRequestHistogram(before)).toEqual({ bounds: [0.001, 0.0025, 0.005, 0.01, Infinity], cumulative: [10, 19, 22, 22, 22], count: 22, sum: 0.036 });
    const diff = histogramDifference(readRequestHistogram(before), readRequestHistogram(after));
    expect(diff.cumulative).toEqual([100, 180, 197, 199, 200]);
    expect(diff.count).toBe(200);
    expect(serverTimeFromScrapes(before, after)).toEqual({
      requests: 200,
      // rank 100 is the last within 1 ms; rank 190 (p95) lies in (2.5, 5]; rank 198 (p99) in (5, 10].
      p50LeMs: 1,
      p95LeMs: 5,
      p99LeMs: 10,
      meanMs: 2.35,
      withinMs: 5,
      withinFraction: 197 / 200,
    });
  });

  test('the accounting service is its own histogram', () => {
    expect(serverTimeFromScrapes(before, after, 'accounting')).toMatchObject({ requests: 895, p99LeMs: 1, withinFraction: 1 });
  });

  test('a percentile past the last finite bound is null; no requests, no percentiles', () => {
    const h = { bounds: [0.001, Infinity], cumulative: [1, 100], count: 100, sum: 5 };
    expect(quantileUpperBound(h, 0.5)).toBe(Infinity);
    expect(summarizeServerTime(h)).toMatchObject({ p50LeMs: null, p99LeMs: null, withinMs: 1, withinFraction: 0.01 });
    expect(summarizeServerTime({ bounds: [0.001, Infinity], cumulative: [0, 0], count: 0, sum: 0 })).toEqual({
      requests: 0, p50LeMs: null, p95LeMs: null, p99LeMs: null, meanMs: 0, withinMs: 1, withinFraction: 0,
    });
  });

  test('a server that had answered nothing before the run: its first scrape has no children', () => {
    const empty = `# HELP ${M} x\n# TYPE ${M} histogram\n`;
    expect(readRequestHistogram(empty)).toEqual({ bounds: [], cumulative: [], count: 0, sum: 0 });
    expect(serverTimeFromScrapes(empty, after).requests).toBe(222);
  });

  test('scrapes that cannot be compared are refused with a code', () => {
    const restarted = exposition([{ service: 'authentication', code: 'Access-Challenge', cumulative: [1, 1, 1, 1, 1], sum: 0.001 }]);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        if (e instanceof ServerTimingError) return e.code;
        throw e;
      }
      return undefined;
    };
    expect(code(() => serverTimeFromScrapes(after, restarted))).toBe('counter-reset');
    const otherBuckets = after.replace(/le="0.0025"/g, 'le="0.002"');
    expect(code(() => serverTimeFromScrapes(before, otherBuckets))).toBe('buckets-differ');
    expect(code(() => readRequestHistogram(before.replace(/^.*le="\+Inf".*\n/gm, '')))).toBe('malformed');
    expect(code(() => readRequestHistogram(`${M}_count{service="authentication",code="Access-Accept"} many\n`))).toBe('malformed');
  });

  test('what Gangway\'s registry writes reads back: its buckets, its counts', async () => {
    const registry = new MetricRegistry();
    const family = registry.histogram(M, 'test', ['service', 'code'], REQUEST_SECONDS);
    const challenge: HistogramChild = family.labels({ service: 'authentication', code: 'Access-Challenge' });
    const first = await registry.render();
    // 99 quick replies and one of 4.5 ms: p99 is within 1 ms, the slow one within 5 ms.
    for (let i = 0; i < 99; i++) challenge.observe(0.0004);
    challenge.observe(0.0045);
    const summary = serverTimeFromScrapes(first, await registry.render());
    expect(summary).toMatchObject({ requests: 100, p50LeMs: 0.5, p99LeMs: 0.5, withinMs: 5, withinFraction: 1 });
    expect(readRequestHistogram(await registry.render()).bounds).toEqual([...REQUEST_SECONDS, Infinity]);
    challenge.observe(0.0045);
    challenge.observe(0.0045);
    expect(serverTimeFromScrapes(first, await registry.render()).p99LeMs).toBe(5);
  });
});
