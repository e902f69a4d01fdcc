/**
 * Counters, gauges and histograms, and their rendering in the Prometheus text format.
 *
 * The hot path holds a *child* (one label combination) resolved once, and touches a number in it:
 * no label lookup, hashing or string building per event. Strings are built only when a scraper asks.
 * Label values must come from configuration or from fixed words in the code, never from a packet:
 * each combination is kept for the life of the process.
 */
import { EXPOSITION_CONTENT_TYPE, escapeHelp, formatLabels, formatNumber, isLabelName, isMetricName } from './text-format.js';

export { EXPOSITION_CONTENT_TYPE };

export type Labels<L extends string> = Readonly<Record<L, string>>;

export class CounterChild {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }

  /** Sets the total of a count kept elsewhere (it must only grow), read when scraped. */
  mirror(total: number): void {
    this.value = total;
  }
}

export class GaugeChild {
  value = 0;

  set(value: number): void {
    this.value = value;
  }
}

export class HistogramChild {
  /** Per bucket, not cumulative; the last slot is above the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (Number.isNaN(value)) return;
    const bounds = this.bounds;
    let i = 0;
    // `le` is inclusive; a dozen bounds make a linear walk cheaper than a binary search.
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

type MetricType = 'counter' | 'gauge' | 'histogram';

interface Rendered {
  readonly name: string;
  render(): string;
}

abstract class Family<L extends string, C> {
  private readonly children = new Map<string, { values: string[]; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly L[],
  ) {
    if (!isMetricName(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    const seen = new Set<string>();
    for (const label of labelNames) {
      if (!isLabelName(label) || (type === 'histogram' && label === 'le')) throw new Error(`${name}: invalid label name ${JSON.stringify(label)}`);
      if (seen.has(label)) throw new Error(`${name}: label ${label} named twice`);
      seen.add(label);
    }
  }

  /**
   * The child for one combination of label values, made on first use. It builds a key, so resolve
   * children ahead of the hot path and keep them.
   */
  labels(...args: [L] extends [never] ? [] : [Labels<L>]): C {
    const given = (args[0] ?? {}) as Record<string, string | undefined>;
    const values = this.labelNames.map((label) => {
      const value = given[label];
      if (typeof value !== 'string') throw new Error(`${this.name}: label ${label} has no value`);
      return value;
    });
    // NUL cannot appear in a configuration name or one of our words, so the key is unambiguous.
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      entry = { values, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { values, child } of this.children.values()) out += this.renderChild(formatLabels(this.labelNames, values), values, child);
    return out;
  }

  protected abstract create(): C;
  protected abstract renderChild(labels: string, values: readonly string[], child: C): string;
}

export class CounterFamily<L extends string> extends Family<L, CounterChild> {
  constructor(name: string, help: string, labelNames: readonly L[]) {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    super(name, help, 'counter', labelNames);
  }

  protected create(): CounterChild {
    return new CounterChild();
  }

  protected renderChild(labels: string, _values: readonly string[], child: CounterChild): string {
    return `${this.name}${labels} ${formatNumber(child.value)}\n`;
  }
}

export class GaugeFamily<L extends string> extends Family<L, GaugeChild> {
  constructor(name: string, help: string, labelNames: readonly L[]) {
    super(name, help, 'gauge', labelNames);
  }

  protected create(): GaugeChild {
    return new GaugeChild();
  }

  protected renderChild(labels: string, _values: readonly string[], child: GaugeChild): string {
    return `${this.name}${labels} ${formatNumber(child.value)}\n`;
  }
}

export class HistogramFamily<L extends string> extends Family<L, HistogramChild> {
  private readonly bucketLabels: readonly string[];

  constructor(name: string, help: string, labelNames: readonly L[], readonly bounds: readonly number[]) {
    super(name, help, 'histogram', labelNames);
    if (bounds.length === 0) throw new Error(`${name}: a histogram needs at least one bucket`);
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]!) || (i > 0 && bounds[i]! <= bounds[i - 1]!)) throw new Error(`${name}: bucket bounds must be finite and increasing`);
    }
    this.bucketLabels = [...labelNames, 'le'];
  }

  protected create(): HistogramChild {
    return new HistogramChild(this.bounds);
  }

  protected renderChild(labels: string, values: readonly string[], child: HistogramChild): string {
    let out = '';
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += child.counts[i]!;
      const le = i < this.bounds.length ? formatNumber(this.bounds[i]!) : '+Inf';
      out += `${this.name}_bucket${formatLabels(this.bucketLabels, [...values, le])} ${formatNumber(cumulative)}\n`;
    }
    out += `${this.name}_sum${labels} ${formatNumber(child.sum)}\n`;
    out += `${this.name}_count${labels} ${formatNumber(child.count)}\n`;
    return out;
  }
}

/** The metrics of one process, in registration order, and what refreshes the ones read when scraped. */
export class MetricRegistry {
  private readonly families = new Map<string, Rendered>();
  private readonly collectors: (() => void | Promise<void>)[] = [];

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): CounterFamily<L> {
    return this.add(new CounterFamily(name, help, labelNames));
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): GaugeFamily<L> {
    return this.add(new GaugeFamily(name, help, labelNames));
  }

  histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[], bounds: readonly number[]): HistogramFamily<L> {
    return this.add(new HistogramFamily(name, help, labelNames, bounds));
  }

  /**
   * Runs before every rendering, in order: copies values kept elsewhere (table sizes, counts) into
   * children, or asks something (the store) how it is.
   */
  onScrape(collect: () => void | Promise<void>): void {
    this.collectors.push(collect);
  }

  async render(): Promise<string> {
    for (const collect of this.collectors) await collect();
    let out = '';
    for (const family of this.families.values()) out += family.render();
    return out;
  }

  private add<F extends Rendered>(family: F): F {
    if (this.families.has(family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.families.set(family.name, family);
    return family;
  }
}
