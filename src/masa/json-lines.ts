/**
 * An append-only JSON-lines file: the MASA's registries and logs. One record per line, appended
 * with O_APPEND in a single write so that a record from `gangway masa issue-idevid` (another
 * process) and one from the running server never interleave. Readers read what was appended since
 * their last read, so the server sees IDevIDs issued after it started.
 */
import { appendFileSync, chmodSync, closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

/** Turns one parsed line into a record, or undefined when the line is not one (it is then skipped). */
export type RecordReader<T> = (value: unknown) => T | undefined;

/** What has been read of the file: every complete line up to `consumed`, by inode. */
interface ReadState<T> {
  ino: number;
  consumed: number;
  size: number;
  mtimeMs: number;
  records: T[];
  skipped: number;
  /**
   * The first and the last octets consumed. A file rotated in place (copied, truncated, written
   * again) and grown past where the last read stopped is caught by its new first line; a line
   * edited in the middle at the same length is not: these files are append-only.
   */
  head: Buffer;
  seam: Buffer;
  /** The last line when it has no newline yet (a torn write), as it parsed: not consumed. */
  tail: { record: T | undefined } | undefined;
}

export class JsonLinesFile<T> {
  private state: ReadState<T> | undefined;

  constructor(
    readonly path: string,
    private readonly read: RecordReader<T>,
  ) {}

  append(record: T): void {
    const fresh = !existsSync(this.path);
    // After a torn write (a crash mid-line) the new record starts on its own line, not glued to it.
    const torn = !fresh && endsWithoutNewline(this.path);
    appendFileSync(this.path, `${torn ? '\n' : ''}${JSON.stringify(record)}\n`, { mode: 0o600 });
    if (fresh) chmodSync(this.path, 0o600);
  }

  /** Every record, in file order. Lines that do not parse (a torn last write) are skipped and counted. */
  records(): readonly T[] {
    const s = this.load();
    return s.tail?.record !== undefined ? [...s.records, s.tail.record] : s.records;
  }

  /** How many lines of the last read were not records. */
  skippedLines(): number {
    const s = this.load();
    return s.skipped + (s.tail && s.tail.record === undefined ? 1 : 0);
  }

  /**
   * Reads what was appended since the last call, not the whole file again: a voucher log grows by
   * a line per voucher, and parsing all of it for each request held the event loop for 0.6 s at
   * 100,000 vouchers. A file that is not the one read (another inode), that is shorter, that was
   * rewritten in place at the same size, or whose first line or last line read changed, is read
   * from the start.
   */
  private load(): ReadState<T> {
    const empty: ReadState<T> = { ino: -1, consumed: 0, size: 0, mtimeMs: 0, records: [], skipped: 0, head: Buffer.alloc(0), seam: Buffer.alloc(0), tail: undefined };
    if (!existsSync(this.path)) return (this.state = empty);
    const fd = openSync(this.path, 'r');
    try {
      const st = fstatSync(fd);
      let s = this.state;
      if (s && s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs) return s;
      if (!s || s.ino !== st.ino || st.size < s.consumed || st.size === s.size || !seamHolds(fd, s)) s = { ...empty, ino: st.ino, records: [] };
      const fresh = Buffer.alloc(st.size - s.consumed);
      let got = 0;
      while (got < fresh.length) {
        const n = readSync(fd, fresh, got, fresh.length - got, s.consumed + got);
        if (n === 0) break;
        got += n;
      }
      const text = fresh.subarray(0, got);
      const lastNewline = text.lastIndexOf(0x0a);
      // A new array, so that one a caller already holds is never changed under it.
      const records = s.records.slice();
      for (const line of text.subarray(0, lastNewline + 1).toString('utf8').split('\n')) this.take(line, records, s);
      s.records = records;
      if (s.consumed === 0) s.head = Buffer.from(text.subarray(0, Math.min(SEAM_OCTETS, lastNewline + 1)));
      s.consumed += lastNewline + 1;
      if (lastNewline >= 0) s.seam = Buffer.from(text.subarray(Math.max(0, lastNewline + 1 - SEAM_OCTETS), lastNewline + 1));
      const rest = text.subarray(lastNewline + 1).toString('utf8');
      s.tail = rest.trim() === '' ? undefined : { record: this.parse(rest) };
      s.size = s.consumed + text.length - (lastNewline + 1);
      s.mtimeMs = st.mtimeMs;
      return (this.state = s);
    } finally {
      closeSync(fd);
    }
  }

  private take(line: string, records: T[], s: ReadState<T>): void {
    if (line.trim() === '') return;
    const record = this.parse(line);
    if (record === undefined) s.skipped++;
    else records.push(record);
  }

  private parse(line: string): T | undefined {
    try {
      return this.read(JSON.parse(line));
    } catch {
      return undefined;
    }
  }
}

const SEAM_OCTETS = 64;

function seamHolds(fd: number, s: ReadState<unknown>): boolean {
  const at = (octets: Buffer, position: number): boolean => {
    const now = Buffer.alloc(octets.length);
    return readSync(fd, now, 0, now.length, position) === now.length && now.equals(octets);
  };
  return at(s.head, 0) && at(s.seam, s.consumed - s.seam.length);
}

function endsWithoutNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** A plain object's string field, or undefined. */
export function stringField(o: unknown, name: string): string | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const v = (o as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}
