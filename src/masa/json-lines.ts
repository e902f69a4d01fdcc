/**
 * An append-only JSON-lines file: the MASA's registries and logs. One record per line, appended
 * with O_APPEND in a single write so that a record from `gangway masa issue-idevid` (another
 * process) and one from the running server never interleave. Readers re-read the file only when
 * its size or modification time changed, so the server sees IDevIDs issued after it started.
 */
import { appendFileSync, chmodSync, closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

/** Turns one parsed line into a record, or undefined when the line is not one (it is then skipped). */
export type RecordReader<T> = (value: unknown) => T | undefined;

export class JsonLinesFile<T> {
  private cache: { size: number; mtimeMs: number; records: T[]; skipped: number } | undefined;

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
    return this.load().records;
  }

  /** How many lines of the last read were not records. */
  skippedLines(): number {
    return this.load().skipped;
  }

  private load(): { records: T[]; skipped: number } {
    if (!existsSync(this.path)) return { records: [], skipped: 0 };
    const st = statSync(this.path);
    if (this.cache && this.cache.size === st.size && this.cache.mtimeMs === st.mtimeMs) return this.cache;
    const records: T[] = [];
    let skipped = 0;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      const record = this.read(value);
      if (record === undefined) skipped++;
      else records.push(record);
    }
    this.cache = { size: st.size, mtimeMs: st.mtimeMs, records, skipped };
    return this.cache;
  }
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
