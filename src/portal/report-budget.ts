/**
 * How often requests nobody signed in for may write an audit entry and a log line about being
 * refused: once per kind of refusal and client address in each window, and at most `perWindow`
 * entries of a kind from all addresses together. What is not written is counted into the next
 * entry of that kind and address (`suppressed`), as the RADIUS layer's warnings do. Anyone can
 * send a POST without a CSRF token, or go on after the login rate limit said 429, as fast as they
 * like; the audit log and the log file must not grow with them, and must still say it happened.
 */
export interface ReportBudgetOptions {
  windowMs: number;
  /** Entries of one kind per window from all client addresses together. */
  perWindow: number;
  /**
   * Kinds and addresses remembered; past it the one heard of least recently is forgotten, with
   * its count. So memory stays bounded however many addresses a flood comes from.
   */
  maxKeys: number;
  now?: () => number;
}

export const PORTAL_REPORT_BUDGET = { windowMs: 60_000, perWindow: 100, maxKeys: 10_000 } as const;

interface Source {
  /** When this key last wrote; undefined while every entry since it was first heard of was held back. */
  wroteAt: number | undefined;
  suppressed: number;
}

export class ReportBudget {
  private readonly sources = new Map<string, Source>();
  private readonly kinds = new Map<string, { start: number; written: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: ReportBudgetOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * undefined: write nothing (it is counted into this kind and address's next entry); otherwise
   * write it, saying how many alike were not written before it.
   */
  admit(kind: string, client: string): number | undefined {
    const now = this.now();
    const key = `${kind} ${addressKey(client)}`;
    let s = this.sources.get(key);
    if (!s && this.sources.size >= this.opts.maxKeys) this.sources.delete(this.sources.keys().next().value!);
    s ??= { wroteAt: undefined, suppressed: 0 };
    // Kept in the order keys were last heard of, so that the first is the one to forget.
    this.sources.delete(key);
    this.sources.set(key, s);
    // A clock stepped back ends the window too: a window must not outlast its length.
    const inWindow = (start: number) => now - start < this.opts.windowMs && now >= start;
    if (s.wroteAt !== undefined && inWindow(s.wroteAt)) {
      s.suppressed++;
      return undefined;
    }
    let k = this.kinds.get(kind);
    if (!k || !inWindow(k.start)) {
      k = { start: now, written: 0 };
      this.kinds.set(kind, k);
    }
    if (k.written >= this.opts.perWindow) {
      s.suppressed++;
      return undefined;
    }
    k.written++;
    const suppressed = s.suppressed;
    s.wroteAt = now;
    s.suppressed = 0;
    return suppressed;
  }
}

/**
 * The part of a client address one client is taken to control: an IPv6 client usually has a
 * whole /64, and would otherwise be a new address for every request.
 */
export function addressKey(client: string): string {
  if (!client.includes(':') || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(client)) return client;
  const [head = '', tail] = client.toLowerCase().split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
