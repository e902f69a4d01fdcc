import fc from 'fast-check';
import { PENDING_ATTEMPT_MS, PasswordLockout, nasKey, type LockoutEvent, type PasswordLockoutPolicy } from '../../src/eap-methods/password-lockout.js';

const policy = (over: Partial<PasswordLockoutPolicy> = {}): PasswordLockoutPolicy => ({
  account: { maxFailures: 3, windowMs: 60_000, lockoutMs: 120_000 },
  nas: { maxFailures: 10, windowMs: 60_000, lockoutMs: 30_000 },
  maxTracked: 1000,
  ...over,
});

function setup(p = policy()) {
  let now = 1_000_000;
  const events: LockoutEvent[] = [];
  const lockout = new PasswordLockout(p, (e) => events.push(e), () => now);
  return { lockout, events, advance: (ms: number) => { now += ms; }, now: () => now };
}

describe('password lockout (issue 8.3)', () => {
  test('an account locks at maxFailures within the window, for lockoutMs, with one event', () => {
    const { lockout, events, advance, now } = setup();
    lockout.failure('alice', 'nas1');
    lockout.failure('alice', 'nas2');
    expect(lockout.check('alice', 'nas1')).toMatchObject({ locked: false });
    lockout.failure('alice', 'nas1');
    expect(lockout.check('alice', 'nas3')).toEqual({ locked: true, scope: 'account', until: now() + 120_000 });
    expect(events).toEqual([{ scope: 'account', subject: 'alice', nas: 'nas1', failures: 3, until: new Date(now() + 120_000) }]);
    expect(lockout.check('bob', 'nas1')).toMatchObject({ locked: false });
    advance(119_999);
    expect(lockout.check('alice', 'nas1').locked).toBe(true);
    advance(1);
    expect(lockout.check('alice', 'nas1')).toMatchObject({ locked: false });
    // A new window: the count starts again.
    lockout.failure('alice', 'nas1');
    expect(lockout.check('alice', 'nas1').locked).toBe(false);
  });

  test('guesses checked in parallel before any failure is told: only maxFailures get through', () => {
    const { lockout, events } = setup();
    const verdicts = Array.from({ length: 10 }, () => lockout.check('alice', 'nas1'));
    expect(verdicts.filter((v) => !v.locked)).toHaveLength(3);
    for (let i = 0; i < 3; i++) lockout.failure('alice', 'nas1');
    expect(events.map((e) => [e.scope, e.failures])).toEqual([['account', 3]]);
    expect(lockout.check('alice', 'nas1').locked).toBe(true);
  });

  test('an attempt never told stops counting after PENDING_ATTEMPT_MS; a success keeps the others pending', () => {
    const { lockout, advance } = setup();
    expect([lockout.check('alice', 'n'), lockout.check('alice', 'n'), lockout.check('alice', 'n')].every((v) => !v.locked)).toBe(true);
    expect(lockout.check('alice', 'n').locked).toBe(true);
    lockout.success('alice');
    // Two of the three are still being verified: one more may begin, not two.
    expect(lockout.check('alice', 'n').locked).toBe(false);
    expect(lockout.check('alice', 'n').locked).toBe(true);
    advance(PENDING_ATTEMPT_MS);
    expect(lockout.check('alice', 'n').locked).toBe(false);
  });

  test('an attempt that could not be judged (a store error) is abandoned and counts for nothing, however many', () => {
    const { lockout, events } = setup();
    for (let i = 0; i < 1000; i++) {
      const v = lockout.check('alice', 'n');
      expect(v.locked).toBe(false);
      if (!v.locked) lockout.abandon('alice', v.attempt);
    }
    expect(events).toEqual([]);
    expect(lockout.tracked.accounts).toBe(0);
    // Three in parallel, as before any outage.
    expect([lockout.check('alice', 'n'), lockout.check('alice', 'n'), lockout.check('alice', 'n')].every((v) => !v.locked)).toBe(true);
  });

  test('each verdict ends its own attempt: successes do not keep an attempt never told alive past PENDING_ATTEMPT_MS', () => {
    const { lockout, advance } = setup();
    // Two attempts whose conversations died between check and verdict.
    expect(lockout.check('alice', 'n').locked).toBe(false);
    expect(lockout.check('alice', 'n').locked).toBe(false);
    // Meanwhile the owner logs in every 5 s. Ending the oldest pending attempt on each success
    // (the old rule) replaced a stale one by the newer one, so two stayed pending for good.
    for (let t = 0; t < 60_000; t += 5_000) {
      const v = lockout.check('alice', 'n');
      expect(v.locked).toBe(false);
      if (!v.locked) lockout.success('alice', v.attempt);
      advance(5_000);
    }
    const burst = [lockout.check('alice', 'n'), lockout.check('alice', 'n'), lockout.check('alice', 'n')];
    expect(burst.filter((v) => !v.locked)).toHaveLength(3);
  });

  test('an attempt told to a lockout that does not hold it (a reload replaced it, or told twice) ends nothing else', () => {
    const { lockout } = setup();
    const a = lockout.check('alice', 'n');
    const b = lockout.check('alice', 'n');
    expect(a.locked || b.locked).toBe(false);
    if (a.locked || b.locked) return;
    lockout.failure('alice', 'n', a.attempt);
    lockout.abandon('alice', a.attempt);
    lockout.abandon('alice', a.attempt + 1_000_000);
    // b is still being verified, and one failure counted: one more may begin, not two.
    expect(lockout.check('alice', 'n').locked).toBe(false);
    expect(lockout.check('alice', 'n').locked).toBe(true);
  });

  test('property: however checks and wrong-password verdicts interleave, an account gets at most maxFailures attempts per lockout', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), (script) => {
        const { lockout } = setup();
        let inFlight = 0;
        let admitted = 0;
        for (const begin of script) {
          if (begin) {
            if (!lockout.check('alice', 'n').locked) {
              inFlight++;
              admitted++;
            }
          } else if (inFlight > 0) {
            inFlight--;
            lockout.failure('alice', 'n');
          }
        }
        // The clock never moves: one window, one lockout at most.
        expect(admitted).toBeLessThanOrEqual(3);
      }),
    );
  });

  test('failures spread beyond the window do not lock; a success clears the count', () => {
    const { lockout, advance } = setup();
    lockout.failure('alice', 'n');
    lockout.failure('alice', 'n');
    advance(60_000);
    lockout.failure('alice', 'n');
    lockout.failure('alice', 'n');
    expect(lockout.check('alice', 'n').locked).toBe(false);
    lockout.success('alice');
    lockout.failure('alice', 'n');
    lockout.failure('alice', 'n');
    expect(lockout.check('alice', 'n').locked).toBe(false);
  });

  test('a spray of distinct names from one NAS locks that NAS, not others, and not the names', () => {
    const { lockout, events } = setup();
    for (let i = 0; i < 10; i++) lockout.failure(`user${i}`, 'nas-a');
    expect(lockout.check('alice', 'nas-a')).toMatchObject({ locked: true, scope: 'nas' });
    expect(lockout.check('alice', 'nas-b')).toMatchObject({ locked: false });
    expect(lockout.check('user1', 'nas-b')).toMatchObject({ locked: false });
    expect(events).toEqual([expect.objectContaining({ scope: 'nas', subject: 'nas-a', failures: 10 })]);
  });

  test('unknown names are tracked like known ones (a lockout says nothing about existence)', () => {
    const { lockout } = setup();
    for (let i = 0; i < 3; i++) lockout.failure('no-such-user', 'n');
    expect(lockout.check('no-such-user', 'n')).toMatchObject({ locked: true, scope: 'account' });
  });

  test('memory is bounded; a locked account survives a flood of other names', () => {
    const { lockout } = setup(policy({ maxTracked: 100, nas: { maxFailures: 1e9, windowMs: 60_000, lockoutMs: 1000 } }));
    for (let i = 0; i < 3; i++) lockout.failure('victim', 'n');
    for (let i = 0; i < 20_000; i++) lockout.failure(`spray-${i}`, `nas-${i % 500}`);
    expect(lockout.tracked.accounts).toBeLessThanOrEqual(100);
    expect(lockout.tracked.nases).toBeLessThanOrEqual(100);
    expect(lockout.check('victim', 'n').locked).toBe(true);
  });

  test('property: whatever the sequence, entries never exceed maxTracked and a check never throws', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('fail', 'ok', 'check', 'tick'), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5 })), { maxLength: 400 }),
        (ops) => {
          const { lockout, advance } = setup(policy({ maxTracked: 16 }));
          for (const [op, user, nas] of ops) {
            if (op === 'fail') lockout.failure(`u${user}`, `n${nas}`);
            else if (op === 'ok') lockout.success(`u${user}`);
            else if (op === 'tick') advance(user * 1000);
            else lockout.check(`u${user}`, `n${nas}`);
            expect(lockout.tracked.accounts).toBeLessThanOrEqual(16);
            expect(lockout.tracked.nases).toBeLessThanOrEqual(16);
          }
        },
      ),
    );
  });

  test('a throwing audit sink does not turn a wrong password into an error', () => {
    const lockout = new PasswordLockout(policy(), () => { throw new Error('disk full'); });
    for (let i = 0; i < 3; i++) lockout.failure('alice', 'n');
    expect(lockout.check('alice', 'n').locked).toBe(true);
  });

  test('the NAS key is the RADIUS client and the source address', () => {
    expect(nasKey({ clientName: 'aps', clientAddress: '10.0.0.7' })).toBe('aps/10.0.0.7');
    expect(nasKey({ clientName: 'aps' })).toBe('aps');
  });
});
