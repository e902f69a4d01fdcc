/**
 * The shared secrets and passwords the suite's main fixtures use, in one place so that the log
 * scan (log-scan-reporter.cjs) can look for each of them in every log line of a run. Each is
 * distinctive — no word a log line would hold for another reason — which a password like
 * "password" is not. The reporter reads this file as text: keep one `export const NAME = '…';` per
 * line, with a literal of at least 8 characters.
 */

/** The RADIUS shared secret of every in-process server from startTestGangway (test/helpers/gangway.ts). */
export const TEST_RADIUS_SECRET = 'testing123-secret';
/** alice's password in the TEAP, MSCHAPv2 and RADIUS harnesses. */
export const ALICE_PASSWORD = 'alice-Pass-7c3e91';
/** The machine account's password (host/machine1, host/m1) in the same harnesses. */
export const MACHINE_PASSWORD = 'machine-Pass-2b8d40';
/** A wrong password, for the failures: a leaked wrong guess is as bad as a leaked password. */
export const WRONG_PASSWORD = 'wrong-Guess-5a61f0';
