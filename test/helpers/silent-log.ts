import type { Log } from '../../src/util/log.js';

/** A Log that keeps what it was given, for asserting that a reason was logged. */
export class MemoryLog implements Log {
  readonly lines: { level: string; obj: object; msg?: string }[];

  constructor(lines: { level: string; obj: object; msg?: string }[] = [], private readonly bindings: Record<string, unknown> = {}) {
    this.lines = lines;
  }

  debug(obj: object, msg?: string): void { this.push('debug', obj, msg); }
  info(obj: object, msg?: string): void { this.push('info', obj, msg); }
  warn(obj: object, msg?: string): void { this.push('warn', obj, msg); }
  error(obj: object, msg?: string): void { this.push('error', obj, msg); }
  child(bindings: Record<string, unknown>): Log { return new MemoryLog(this.lines, { ...this.bindings, ...bindings }); }

  private push(level: string, obj: object, msg?: string): void {
    this.lines.push({ level, obj: { ...this.bindings, ...obj }, ...(msg !== undefined ? { msg } : {}) });
  }
}
