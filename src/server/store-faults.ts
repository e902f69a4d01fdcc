/**
 * Whether the store's own operations keep failing, beside the liveness read (src/store/liveness.ts).
 * That read is one cheap SELECT: it answers while the database is corrupt in the tables the
 * requests read, while the disk is full and every write fails, or while another process holds the
 * write lock. So the store calls the server makes are watched too (store-timing.ts hands each
 * failure here), and one operation failing again and again with an error of the database itself
 * makes the store count as failing until it succeeds again or stops failing.
 *
 * Only the database's own errors count: SQLite's result codes other than a constraint, and
 * PostgreSQL's SQLSTATE classes listed below. A duplicate name or a stale version is the caller's business, and a peer that
 * can provoke one at will must not be able to make the server look down.
 */
import { clipForLog } from '../util/log-fields.js';
import { sqlState } from '../store/postgres/sql-state.js';

/** Failures in a row of one operation that make the store count as failing. */
export const FAULTS_IN_A_ROW = 5;
/** How long the last of them keeps it so: a fault that stopped happening stops being reported. */
export const FAULT_MEMORY_MS = 30_000;

/**
 * PostgreSQL SQLSTATE classes that say the database cannot serve, not that a request was wrong:
 * connections, invalid transaction state (25006: a standby or demoted primary refusing writes),
 * a missing schema (3F), resources, objects in use and locks, operator intervention, system and
 * internal errors, and class 42 (a table gone, a permission revoked), which only our own static,
 * parameterised statements could otherwise raise.
 */
const POSTGRES_FAULT_CLASSES = new Set(['08', '25', '3F', '42', '53', '55', '57', '58', 'XX']);

/** Whether `err` is the database failing (rather than refusing one request's content). */
export function isStoreFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return !code.startsWith('SQLITE_CONSTRAINT');
  const state = sqlState(err);
  return state !== undefined && POSTGRES_FAULT_CLASSES.has(state.slice(0, 2));
}

interface OperationRecord {
  inARow: number;
  lastAt: number;
  error: string;
}

export interface StoreFault {
  /** `store.operation`, as the store metrics name them. */
  operation: string;
  inARow: number;
  error: string;
}

export class StoreFaults {
  private readonly operations = new Map<string, OperationRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  /** One call of `operation` (`store.operation`, named once per method by the caller) ended; `err` when it threw. */
  note(operation: string, err?: unknown): void {
    const key = operation;
    if (err === undefined || !isStoreFault(err)) {
      // A success, or an error of the request's own: the operation works.
      if (err === undefined) this.operations.delete(key);
      return;
    }
    const record = this.operations.get(key) ?? { inARow: 0, lastAt: 0, error: '' };
    record.inARow++;
    record.lastAt = this.now();
    record.error = describeStoreError(err);
    // The keys are the stores' method names, a fixed set: no bound needed.
    this.operations.set(key, record);
  }

  /** The operation failing longest in a row now, if any is past the threshold. */
  current(): StoreFault | undefined {
    const now = this.now();
    let worst: StoreFault | undefined;
    for (const [operation, r] of this.operations) {
      if (now - r.lastAt >= FAULT_MEMORY_MS) continue;
      if (r.inARow < FAULTS_IN_A_ROW) continue;
      if (!worst || r.inARow > worst.inARow) worst = { operation, inARow: r.inARow, error: r.error };
    }
    return worst;
  }
}

/**
 * The database's error code where there is one (SQLITE_BUSY, SQLITE_CORRUPT, a SQLSTATE), and its
 * message, clipped: for /healthz and the fault watch. Duck-typed: better-sqlite3's SqliteError may
 * come from another realm, where instanceof Error is false.
 */
export function describeStoreError(err: unknown): string {
  const text = (err as { message?: unknown } | null)?.message;
  const message = clipForLog(typeof text === 'string' ? text : String(err), 200);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `${code}: ${message}` : message;
}
