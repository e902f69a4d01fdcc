/**
 * Failure throttling for password methods (EAP-MSCHAPv2, TEAP Basic-Password-Auth): an account
 * with too many wrong passwords in a window is locked for a while, and so is a NAS from which too
 * many wrong passwords arrive (a password spray over many names). A locked attempt is still
 * answered exactly as a wrong password, after the same work, so a lockout tells a guesser nothing.
 *
 * State is in memory and bounded: at most `maxTracked` accounts and as many NASes. When full, the
 * least recently failed entry that is not locked goes first. Unknown names are tracked like known
 * ones, so lockouts do not reveal which accounts exist.
 */

export interface LockoutRule {
  /** Wrong passwords within `windowMs` that lock. */
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export interface PasswordLockoutPolicy {
  account: LockoutRule;
  nas: LockoutRule;
  /** Entries kept per scope (accounts, NASes). */
  maxTracked: number;
}

/**
 * Per account: 10 wrong passwords in 10 minutes lock it for 10 minutes (a phone retrying an old
 * password after a change should not lock its owner out for long). Per NAS: 100 in a minute lock
 * password methods through that NAS for a minute.
 */
export const DEFAULT_PASSWORD_LOCKOUT: Readonly<PasswordLockoutPolicy> = Object.freeze({
  account: Object.freeze({ maxFailures: 10, windowMs: 600_000, lockoutMs: 600_000 }),
  nas: Object.freeze({ maxFailures: 100, windowMs: 60_000, lockoutMs: 60_000 }),
  maxTracked: 10_000,
});

export type LockoutScope = 'account' | 'nas';

/** `attempt` names the attempt a let-through check began, for the `failure`, `success` or `abandon` that ends it. */
export type LockoutVerdict = { locked: false; attempt: number } | { locked: true; scope: LockoutScope; until: number };

/** What an operator's audit log gets when a lockout begins. */
export interface LockoutEvent {
  scope: LockoutScope;
  /** The account name or the NAS key. */
  subject: string;
  /** The NAS the locking failure came through (for an account lockout). */
  nas: string;
  failures: number;
  until: Date;
}

interface Counter {
  windowStart: number;
  failures: number;
  lockedUntil: number;
  /** The attempts let through and not yet told as a failure, success or abandoned, oldest first. */
  pending: PendingAttempt[];
}

interface PendingAttempt {
  attempt: number;
  /** When it was let through. */
  at: number;
}

/**
 * An attempt let through and never told (its conversation died between the check and the
 * verdict) stops counting after this long; a real verification takes milliseconds (scrypt ~0.1 s).
 */
export const PENDING_ATTEMPT_MS = 30_000;

/** Where an attempt came from, for the per-NAS rule: the RADIUS client and the datagram's source. */
export function nasKey(nas: { clientName: string; clientAddress?: string }): string {
  return nas.clientAddress !== undefined ? `${nas.clientName}/${nas.clientAddress}` : nas.clientName;
}

function dropStalePending(c: Counter, now: number): void {
  while (c.pending.length > 0 && now - c.pending[0]!.at >= PENDING_ATTEMPT_MS) c.pending.shift();
}

/**
 * Ends one pending attempt: the one named, so that an attempt that was never told (a store error
 * between the check and the verdict, before `abandon` existed) cannot be kept alive by the others'
 * verdicts; without a name (tests telling one attempt at a time) the oldest. An attempt no longer
 * pending (dropped as stale, or begun before a reload replaced the lockout) ends nothing.
 */
function endPending(c: Counter, attempt: number | undefined): void {
  if (attempt === undefined) {
    c.pending.shift();
    return;
  }
  const i = c.pending.findIndex((p) => p.attempt === attempt);
  if (i >= 0) c.pending.splice(i, 1);
}

/** Attempt numbers, unique in the process across lockouts (a reload builds a new one). */
let lastAttempt = 0;

/** How far the eviction looks for an unlocked entry before giving up and taking the oldest. */
const EVICTION_SCAN = 64;

class CounterTable {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly rule: LockoutRule, private readonly maxTracked: number) {}

  get size(): number {
    return this.counters.size;
  }

  lockedUntil(key: string, now: number): number | undefined {
    const c = this.counters.get(key);
    return c !== undefined && c.lockedUntil > now ? c.lockedUntil : undefined;
  }

  /**
   * Lets an attempt through unless the key is locked or the failures of its window plus the
   * attempts still being verified already reach the limit; a let-through attempt counts as pending
   * until it is told. Without the pending count, guesses sent in parallel would all be checked
   * before any of their failures is counted (a round trip to the primary thread with workers, the
   * scrypt of Basic-Password-Auth in one thread): one burst could try far more than maxFailures.
   * Returns when the key is free again if refused, else the attempt's number.
   */
  admit(key: string, now: number): { refusedUntil: number } | { attempt: number } {
    const locked = this.lockedUntil(key, now);
    if (locked !== undefined) return { refusedUntil: locked };
    let c = this.counters.get(key);
    if (c !== undefined) dropStalePending(c, now);
    const failures = c !== undefined && now - c.windowStart < this.rule.windowMs ? c.failures : 0;
    if (c !== undefined && failures + c.pending.length >= this.rule.maxFailures) {
      return { refusedUntil: c.pending.length > 0 ? c.pending[0]!.at + PENDING_ATTEMPT_MS : now };
    }
    if (c === undefined) {
      this.makeRoom(now);
      c = { windowStart: now, failures: 0, lockedUntil: 0, pending: [] };
      this.counters.set(key, c);
    }
    const attempt = ++lastAttempt;
    c.pending.push({ attempt, at: now });
    return { attempt };
  }

  /** Counts a failure; returns the failure count when this one starts a lockout. */
  fail(key: string, now: number, attempt?: number): number | undefined {
    let c = this.counters.get(key);
    if (c !== undefined) {
      dropStalePending(c, now);
      endPending(c, attempt);
    }
    if (c === undefined || (now - c.windowStart >= this.rule.windowMs && c.lockedUntil <= now)) {
      c = { windowStart: now, failures: 0, lockedUntil: 0, pending: c?.pending ?? [] };
    }
    // Re-inserted so that Map order is least recently failed first.
    this.counters.delete(key);
    this.makeRoom(now);
    this.counters.set(key, c);
    if (c.lockedUntil > now) return undefined;
    c.failures++;
    if (c.failures < this.rule.maxFailures) return undefined;
    c.lockedUntil = now + this.rule.lockoutMs;
    const failures = c.failures;
    // The next window starts when the lockout ends.
    c.windowStart = c.lockedUntil;
    c.failures = 0;
    return failures;
  }

  /** A success: the count starts again; other attempts still being verified stay pending. */
  clear(key: string, now: number, attempt?: number): void {
    const c = this.counters.get(key);
    if (c === undefined) return;
    dropStalePending(c, now);
    endPending(c, attempt);
    if (c.pending.length === 0) this.counters.delete(key);
    else Object.assign(c, { windowStart: now, failures: 0, lockedUntil: 0 });
  }

  /** An attempt that could not be judged (the account could not be read): it counts for nothing. */
  abandon(key: string, now: number, attempt: number): void {
    const c = this.counters.get(key);
    if (c === undefined) return;
    dropStalePending(c, now);
    endPending(c, attempt);
    // A key that only held this attempt goes, as after a success.
    if (c.pending.length === 0 && c.failures === 0 && c.lockedUntil <= now) this.counters.delete(key);
  }

  private makeRoom(now: number): void {
    if (this.counters.size < this.maxTracked) return;
    let scanned = 0;
    for (const [key, c] of this.counters) {
      if (c.lockedUntil <= now) {
        this.counters.delete(key);
        return;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    // Every entry looked at is locked: the oldest goes (documented limit of an in-memory table).
    const oldest = this.counters.keys().next();
    if (!oldest.done) this.counters.delete(oldest.value);
  }
}

/**
 * What a password method asks and tells: the in-process `PasswordLockout`, or, with several worker
 * threads, one that asks the lockout kept by the primary thread (src/server/workers/). `check` may
 * therefore answer later; `failure` and `success` are told and not awaited, in order. A `check`
 * that lets an attempt through begins it (it counts until its `failure`, `success` or `abandon`,
 * each given the verdict's `attempt`), so every such check must be followed by exactly one of them,
 * whatever is thrown in between; a locked verdict must not be.
 */
export interface LockoutGate {
  check(account: string, nas: string): LockoutVerdict | Promise<LockoutVerdict>;
  failure(account: string, nas: string, attempt: number): void;
  success(account: string, attempt: number): void;
  /**
   * The attempt could not be judged (the store failed to read the account): it ends without
   * counting as a failure or a success, so that an outage of the store locks nobody out.
   */
  abandon(account: string, attempt: number): void;
}

export class PasswordLockout implements LockoutGate {
  private readonly accounts: CounterTable;
  private readonly nases: CounterTable;

  constructor(
    readonly policy: PasswordLockoutPolicy = DEFAULT_PASSWORD_LOCKOUT,
    private readonly onLockout: (event: LockoutEvent) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.accounts = new CounterTable(policy.account, policy.maxTracked);
    this.nases = new CounterTable(policy.nas, policy.maxTracked);
  }

  /** Entries held (for tests and metrics). */
  get tracked(): { accounts: number; nases: number } {
    return { accounts: this.accounts.size, nases: this.nases.size };
  }

  /**
   * Begins an attempt: refused while the NAS or the account is locked, or while the account's
   * failures plus its attempts still being verified reach the limit; otherwise the attempt counts
   * as pending for the account until `failure` or `success` tells its result. The NAS rule counts
   * failures only: behind a proxy every attempt comes from one NAS, and counting legitimate
   * attempts in flight there would lock people out under load.
   */
  check(account: string, nas: string): LockoutVerdict {
    const now = this.now();
    const byNas = this.nases.lockedUntil(nas, now);
    if (byNas !== undefined) return { locked: true, scope: 'nas', until: byNas };
    const byAccount = this.accounts.admit(account, now);
    if ('refusedUntil' in byAccount) return { locked: true, scope: 'account', until: byAccount.refusedUntil };
    return { locked: false, attempt: byAccount.attempt };
  }

  /** A wrong password (or an unknown or disabled account) that was actually checked. */
  failure(account: string, nas: string, attempt?: number): void {
    const now = this.now();
    const accountFailures = this.accounts.fail(account, now, attempt);
    if (accountFailures !== undefined) {
      this.report({ scope: 'account', subject: account, nas, failures: accountFailures, until: new Date(now + this.policy.account.lockoutMs) });
    }
    const nasFailures = this.nases.fail(nas, now);
    if (nasFailures !== undefined) {
      this.report({ scope: 'nas', subject: nas, nas, failures: nasFailures, until: new Date(now + this.policy.nas.lockoutMs) });
    }
  }

  /** A right password: the account's count starts again (the NAS's does not: a spray succeeds sometimes). */
  success(account: string, attempt?: number): void {
    this.accounts.clear(account, this.now(), attempt);
  }

  abandon(account: string, attempt: number): void {
    this.accounts.abandon(account, this.now(), attempt);
  }

  private report(event: LockoutEvent): void {
    try {
      this.onLockout(event);
    } catch {
      // The audit sink failing must not turn a wrong password into a server error.
    }
  }
}
