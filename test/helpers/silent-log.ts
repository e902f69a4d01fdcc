import { Writable } from 'node:stream';
import { LOG_CAPTURE_ENV } from '../../src/util/log-capture.js';
import { createLog, type Log } from '../../src/util/log.js';

/**
 * Under the suite's log capture (GANGWAY_LOG_CAPTURE, set by log-scan-reporter.cjs), a logger that
 * writes each MemoryLog line through pino exactly as `gangway serve` would — redaction and clipping
 * included — into the capture only, so that what the tests' in-memory logs hold is scanned too.
 */
let capture: Log | null | undefined;
function captureLog(): Log | null {
  capture ??= process.env[LOG_CAPTURE_ENV] ? createLog('debug', new Writable({ write: (_chunk, _enc, done) => done() })) : null;
  return capture;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

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

  private push(level: Level, obj: object, msg?: string): void {
    const merged = { ...this.bindings, ...obj };
    this.lines.push({ level, obj: merged, ...(msg !== undefined ? { msg } : {}) });
    captureLog()?.[level](merged, msg);
  }
}
