/**
 * Notices when a CRL file changes, by polling its identity every few seconds: device, inode, size,
 * and modification and change times (nanoseconds). A CA tool or cron job replaces a CRL by writing
 * it in place or by renaming a new file over it; `fs.watch` follows neither reliably (a watch on the
 * file dies with an atomic rename, a watch on the directory misses changes on some filesystems and
 * sees every unrelated file), while a stat of a handful of files costs microseconds.
 *
 * On a change, `refresh` reads and applies the files (server.ts, the same path SIGHUP takes). A
 * refused file is not retried until it changes again, so a broken file is logged once — unless the
 * refusal names a time when the same bytes become acceptable (`retryAt`).
 */
import { stat } from 'node:fs/promises';

export type FileIdentity = (path: string) => Promise<string>;

/** What changes when a file is rewritten or replaced; a missing file is an identity too. */
export const fileIdentity: FileIdentity = async (path) => {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
};

export interface CrlWatcherOptions {
  /** The paths to watch now (they change with a reload). */
  paths: () => readonly string[];
  /** Re-reads the files and applies what changed; says when refused bytes may be retried. */
  refresh: () => Promise<{ retryAt?: Date }>;
  /** Called after every poll, for checks on what is in force (a CRL passing its nextUpdate). */
  afterPoll?: (now: Date) => void;
  identity?: FileIdentity;
  clock?: () => Date;
  onError: (err: unknown) => void;
}

export class CrlWatcher {
  private readonly seen = new Map<string, string>();
  private retryAt: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly opts: CrlWatcherOptions) {}

  /**
   * Takes the files' present identities as the starting point: call it before the files are read
   * at start, so that a change between that read and the first poll is still noticed.
   */
  async baseline(): Promise<void> {
    const identity = this.opts.identity ?? fileIdentity;
    for (const path of this.opts.paths()) this.seen.set(path, await identity(path));
  }

  /** Polls every `intervalMs` (0: never). Calling it again changes the interval. */
  start(intervalMs: number): void {
    this.stop();
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll; a poll still running (a slow refresh) makes this one a no-op. */
  poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.pollOnce()
      .catch((err: unknown) => this.opts.onError(err))
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const identity = this.opts.identity ?? fileIdentity;
    const now = (this.opts.clock ?? (() => new Date()))();
    const paths = this.opts.paths();
    let changed = this.retryAt !== undefined && now >= this.retryAt;
    for (const path of paths) {
      const id = await identity(path);
      if (this.seen.get(path) !== id) changed = true;
      this.seen.set(path, id);
    }
    for (const path of [...this.seen.keys()]) if (!paths.includes(path)) this.seen.delete(path);
    if (changed) {
      const { retryAt } = await this.opts.refresh();
      this.retryAt = retryAt;
    }
    this.opts.afterPoll?.(now);
  }
}
