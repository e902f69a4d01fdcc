/**
 * Server-side time per RADIUS request, from Gangway's own histogram
 * `gangway_radius_request_duration_seconds` (datagram handed to the event loop → reply sent, per
 * decided Access-Request; src/server/metrics.ts). Two scrapes of `/metrics`, before and after the
 * measured run; the difference of their bucket counts is the run's histogram. A histogram only says
 * which bucket a percentile falls in, so a percentile is reported as "≤ the bucket's upper bound".
 *
 * What it leaves out: the time a datagram waits in the kernel's socket queue before Gangway's event
 * loop reads it. Under load that is where a queue forms; the generator's round trip includes it.
 */

export const REQUEST_DURATION_METRIC = 'gangway_radius_request_duration_seconds';

/** One scrape of the histogram, summed over reply codes of one service. */
export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending, +Inf last. */
  bounds: number[];
  /** Cumulative counts per bound (Prometheus `le`). */
  cumulative: number[];
  count: number;
  sum: number;
}

export interface ServerTimeSummary {
  /** Requests decided in the run (the histogram's count difference). */
  requests: number;
  /** Upper bound (ms) of the bucket each percentile falls in; null: above the highest finite bound. */
  p50LeMs: number | null;
  p95LeMs: number | null;
  p99LeMs: number | null;
  meanMs: number;
  /** The share of requests answered within `withinMs` (the highest bucket bound not above the target). */
  withinMs: number;
  withinFraction: number;
}

/** The target: p99 server time per round trip ≤ 5 ms. */
export const SERVER_TIME_TARGET_MS = 5;

export class ServerTimingError extends Error {
  constructor(readonly code: 'metric-missing' | 'malformed' | 'buckets-differ' | 'counter-reset' | 'scrape-failed', message: string) {
    super(message);
  }
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseLabels(text: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const m of text.matchAll(LABEL)) labels.set(m[1]!, m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)));
  return labels;
}

function parseValue(text: string, line: string): number {
  const v = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  if (Number.isNaN(v) && text !== 'NaN') throw new ServerTimingError('malformed', `not a number in: ${line}`);
  return v;
}

/**
 * Reads the histogram of one service (`authentication` by default) from a Prometheus text
 * exposition, adding up its reply codes (Access-Challenge, -Accept, -Reject).
 */
export function readRequestHistogram(exposition: string, service = 'authentication'): HistogramSnapshot {
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let seen = false;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(REQUEST_DURATION_METRIC)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) throw new ServerTimingError('malformed', `unreadable sample: ${line}`);
    const suffix = m[1]!.slice(REQUEST_DURATION_METRIC.length);
    const labels = parseLabels(m[2] ?? '');
    if (labels.get('service') !== service) continue;
    const value = parseValue(m[3]!, line);
    if (suffix === '_bucket') {
      const le = labels.get('le');
      if (le === undefined) throw new ServerTimingError('malformed', `bucket without le: ${line}`);
      const bound = parseValue(le, line);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
      seen = true;
    } else if (suffix === '_count') {
      count += value;
      seen = true;
    } else if (suffix === '_sum') {
      sum += value;
    }
  }
  // Before the first request the server has made no child for the service: an empty histogram.
  if (!seen) return { bounds: [], cumulative: [], count: 0, sum: 0 };
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds[bounds.length - 1] !== Infinity) throw new ServerTimingError('malformed', `${REQUEST_DURATION_METRIC} has no +Inf bucket`);
  return { bounds, cumulative: bounds.map((b) => buckets.get(b)!), count, sum };
}

/** `after − before`; an empty `before` (no request yet when it was scraped) counts as zeros. */
export function histogramDifference(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  if (before.bounds.length === 0) return after;
  if (after.bounds.length !== before.bounds.length || after.bounds.some((b, i) => b !== before.bounds[i])) {
    throw new ServerTimingError('buckets-differ', 'the two scrapes have different buckets');
  }
  const cumulative = after.cumulative.map((c, i) => c - before.cumulative[i]!);
  if (cumulative.some((c) => c < 0) || after.count < before.count) throw new ServerTimingError('counter-reset', 'a count went down between the scrapes (the server restarted?)');
  return { bounds: after.bounds, cumulative, count: after.count - before.count, sum: after.sum - before.sum };
}

/** The upper bound (seconds) of the bucket holding the q-quantile (nearest rank); Infinity above the last finite one. */
export function quantileUpperBound(h: HistogramSnapshot, q: number): number | undefined {
  const total = h.cumulative[h.cumulative.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  const i = h.cumulative.findIndex((c) => c >= rank);
  return h.bounds[i];
}

export function summarizeServerTime(h: HistogramSnapshot, targetMs = SERVER_TIME_TARGET_MS): ServerTimeSummary {
  const ms = (q: number): number | null => {
    const b = quantileUpperBound(h, q);
    return b === undefined || b === Infinity ? null : Math.round(b * 1e6) / 1e3;
  };
  const total = h.cumulative[h.cumulative.length - 1] ?? 0;
  let withinIndex = -1;
  for (let i = 0; i < h.bounds.length; i++) if (h.bounds[i]! * 1000 <= targetMs + 1e-9) withinIndex = i;
  return {
    requests: h.count,
    p50LeMs: ms(0.5),
    p95LeMs: ms(0.95),
    p99LeMs: ms(0.99),
    meanMs: h.count > 0 ? Math.round((h.sum / h.count) * 1e5) / 100 : 0,
    withinMs: withinIndex >= 0 ? Math.round(h.bounds[withinIndex]! * 1e6) / 1e3 : 0,
    withinFraction: total > 0 && withinIndex >= 0 ? h.cumulative[withinIndex]! / total : 0,
  };
}

/** Server time over a run, from the texts of the scrapes before and after it. */
export function serverTimeFromScrapes(before: string, after: string, service = 'authentication'): ServerTimeSummary {
  return summarizeServerTime(histogramDifference(readRequestHistogram(before, service), readRequestHistogram(after, service)));
}

const SCRAPE_TIMEOUT_MS = 5000;
/** A metrics page is some tens of KiB; anything far larger is not Gangway's. */
const MAX_SCRAPE_BYTES = 4 * 1024 * 1024;

export async function scrapeMetrics(url: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  } catch (err) {
    throw new ServerTimingError('scrape-failed', `GET ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ServerTimingError('scrape-failed', `GET ${url}: HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_SCRAPE_BYTES) throw new ServerTimingError('scrape-failed', `GET ${url}: ${declared} bytes`);
  const text = await res.text();
  if (text.length > MAX_SCRAPE_BYTES) throw new ServerTimingError('scrape-failed', `GET ${url}: ${text.length} bytes`);
  if (!text.includes(REQUEST_DURATION_METRIC)) throw new ServerTimingError('metric-missing', `GET ${url}: no ${REQUEST_DURATION_METRIC}`);
  return text;
}
