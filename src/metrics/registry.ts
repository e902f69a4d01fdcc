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

/** One child's numbers as plain data: a counter's or gauge's value, or a histogram's buckets (not cumulative). */
export type ChildValue = { value: number } | { counts: number[]; sum: number; count: number };

/**
 * A family's children as plain data, to cross a thread: worker threads send theirs and the primary
 * renders its own children plus theirs, summed by label values.
 */
export interface FamilySnapshot {
  name: string;
  children: { values: string[]; of: ChildValue }[];
}

interface Rendered {
  readonly name: string;
  readonly type: MetricType;
  render(extra?: readonly FamilySnapshot[]): string;
  snapshot(): FamilySnapshot;
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

  render(extra: readonly FamilySnapshot[] = []): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { values, child } of this.merged(extra).values()) out += this.renderChild(formatLabels(this.labelNames, values), values, child);
    return out;
  }

  snapshot(): FamilySnapshot {
    return { name: this.name, children: [...this.children.values()].map(({ values, child }) => ({ values: [...values], of: this.valueOf(child) })) };
  }

  /** Own children, plus the snapshots' summed in fresh children (own children are not changed). */
  private merged(extra: readonly FamilySnapshot[]): Map<string, { values: readonly string[]; child: C }> {
    if (extra.length === 0) return this.children;
    const out = new Map<string, { values: readonly string[]; child: C }>();
    for (const [key, { values, child }] of this.children) {
      const copy = this.create();
      this.absorb(copy, this.valueOf(child));
      out.set(key, { values, child: copy });
    }
    for (const snapshot of extra) {
      for (const { values, of } of snapshot.children) {
        // A snapshot from another build of the same code: label names match, or it is ignored.
        if (values.length !== this.labelNames.length) continue;
        const key = values.join('\u0000');
        let entry = out.get(key);
        if (!entry) {
          entry = { values, child: this.create() };
          out.set(key, entry);
        }
        this.absorb(entry.child, of);
      }
    }
    return out;
  }

  protected abstract create(): C;
  protected abstract valueOf(child: C): ChildValue;
  /** Adds a snapshot's numbers into a child. */
  protected abstract absorb(into: C, value: ChildValue): void;
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

  protected valueOf(child: CounterChild): ChildValue {
    return { value: child.value };
  }

  protected absorb(into: CounterChild, value: ChildValue): void {
    if ('value' in value) into.value += value.value;
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

  protected valueOf(child: GaugeChild): ChildValue {
    return { value: child.value };
  }

  protected absorb(into: GaugeChild, value: ChildValue): void {
    if ('value' in value) into.value += value.value;
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

  protected valueOf(child: HistogramChild): ChildValue {
    return { counts: [...child.counts], sum: child.sum, count: child.count };
  }

  protected absorb(into: HistogramChild, value: ChildValue): void {
    if (!('counts' in value) || value.counts.length !== into.counts.length) return;
    for (let i = 0; i < value.counts.length; i++) into.counts[i]! += value.counts[i]!;
    into.sum += value.sum;
    into.count += value.count;
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

  /**
   * The text of every family; `extra` (other threads' snapshots) are summed into the families of
   * the same name, children of the same label values together.
   */
  async render(extra: readonly FamilySnapshot[] = []): Promise<string> {
    for (const collect of this.collectors) await collect();
    const byName = new Map<string, FamilySnapshot[]>();
    for (const f of extra) {
      const list = byName.get(f.name);
      if (list) list.push(f);
      else byName.set(f.name, [f]);
    }
    let out = '';
    for (const family of this.families.values()) out += family.render(byName.get(family.name));
    return out;
  }

  /** Counters and histograms whose name `include` accepts, as plain data (gauges say a thread's own state). */
  snapshot(include: (name: string) => boolean = () => true): FamilySnapshot[] {
    const out: FamilySnapshot[] = [];
    for (const family of this.families.values()) if (family.type !== 'gauge' && include(family.name)) out.push(family.snapshot());
    return out;
  }

  private add<F extends Rendered>(family: F): F {
    if (this.families.has(family.name)) throw new Error(`metric ${family.name} registered twice`);
    this.families.set(family.name, family);
    return family;
  }
}
