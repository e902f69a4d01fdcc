/**
 * How many audit entries a device's own doings may write: at most `perWindow` per key (a device and
 * a kind of entry) in each window, and an entry the same as the last one recorded is not recorded
 * again in it. What is not recorded is counted into the key's next entry. A device may send
 * telemetry, or come back and be refused, as often as it likes; the audit trail must not grow with
 * it, and should still say how often it happened.
 */
export interface AuditBudgetOptions {
  windowMs: number;
  perWindow: number;
  /**
   * Keys remembered; past it the key heard of least recently is forgotten, with its count of entries
   * not recorded. So memory stays bounded; what a flood of more keys than this gets is entries
   * recorded as for new keys, and forgotten counts.
   */
  maxKeys: number;
  now: () => number;
}

interface Window {
  start: number;
  recorded: number;
  last: string;
  notRecorded: number;
}

export const DEVICE_AUDIT_BUDGET = { windowMs: 60_000, perWindow: 3, maxKeys: 10_000 } as const;

export class AuditBudget {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly opts: AuditBudgetOptions) {}

  /**
   * undefined: not to be recorded (counted into the key's next entry); otherwise record it, with
   * the number of entries that were not recorded before it.
   */
  admit(key: string, entry: string): number | undefined {
    const now = this.opts.now();
    let w = this.windows.get(key);
    // A clock stepped back starts a new window too: a window must not outlast its length.
    if (!w || !(now - w.start < this.opts.windowMs && now >= w.start)) {
      if (!w && this.windows.size >= this.opts.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, recorded: 0, last: w?.last ?? '', notRecorded: w?.notRecorded ?? 0 };
    }
    // Kept in the order keys were last heard of, so that the first is the one to forget.
    this.windows.delete(key);
    this.windows.set(key, w);
    if (w.recorded >= this.opts.perWindow || (w.recorded > 0 && entry === w.last)) {
      w.notRecorded++;
      return undefined;
    }
    const before = w.notRecorded;
    w.recorded++;
    w.last = entry;
    w.notRecorded = 0;
    return before;
  }
}
