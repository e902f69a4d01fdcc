import type { Log } from '../../../src/util/log.js';
import { InvariantViolation } from '../engine/target.js';

/**
 * A Log that remembers error-level lines. The EAP core and the EAP-NOOB method catch what a method
 * throws and log it at error level (the peer sees a clean failure): right for production, but it
 * would hide a crash from the fuzzer, so a target checks the trap after every input.
 */
export class ErrorTrap implements Log {
  private errors: { obj: object; msg?: string }[] = [];

  constructor(private readonly shared?: ErrorTrap) {}

  debug(): void {}
  info(): void {}
  warn(): void {}
  error(obj: object, msg?: string): void {
    (this.shared ?? this).errors.push({ obj, ...(msg !== undefined ? { msg } : {}) });
  }
  child(): Log {
    return new ErrorTrap(this.shared ?? this);
  }

  /** Throws for the first error line since the last check (with the logged error's stack). */
  check(): void {
    const first = this.errors[0];
    this.errors = [];
    if (!first) return;
    const err = (first.obj as { err?: unknown }).err;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : JSON.stringify(first.obj);
    const violation = new InvariantViolation(`logged an internal error: ${first.msg ?? ''} (${detail})`);
    if (err instanceof Error && err.stack) violation.stack = `${violation.name}: ${violation.message}\n${err.stack.split('\n').slice(1).join('\n')}`;
    throw violation;
  }
}
