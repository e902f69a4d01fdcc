/** One line of `gangway check`: what was checked and what was found. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  /** What was checked: a configuration key or a file's role, e.g. `tls.cert`, `database`. */
  subject: string;
  detail: string;
}

export const ok = (subject: string, detail: string): CheckResult => ({ status: 'ok', subject, detail });
export const warn = (subject: string, detail: string): CheckResult => ({ status: 'warn', subject, detail });
export const fail = (subject: string, detail: string): CheckResult => ({ status: 'fail', subject, detail });
