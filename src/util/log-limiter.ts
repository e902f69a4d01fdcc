import type { Log } from './log.js';

/** At most one log line per key per window, so a flood cannot flood the logs too. */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** undefined = stay quiet; otherwise how many lines were suppressed since the last one. */
  admit(key: string): number | undefined {
    const now = this.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.windowMs) {
      seen.suppressed++;
      return undefined;
    }
    if (this.last.size > 10000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }

  /**
   * A warning a peer can trigger at will: once per key and window, carrying in `suppressed` the
   * count held back since the last; those held back go to debug (dropped cheaply unless asked for).
   */
  warn(log: Log, key: string, fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.admit(key);
    if (suppressed === undefined) log.debug(fields, msg);
    else log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }
}
