/** At most one log line per key per window, so a flood cannot flood the logs too. */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs: number) {}

  /** undefined = stay quiet; otherwise how many lines were suppressed since the last one. */
  admit(key: string): number | undefined {
    const now = Date.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.windowMs) {
      seen.suppressed++;
      return undefined;
    }
    if (this.last.size > 10000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }
}
