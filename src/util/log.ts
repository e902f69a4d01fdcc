import { pino } from 'pino';

/**
 * The logging surface every module receives. It is pino's shape, narrowed so that
 * protocol modules do not depend on pino itself and tests can pass a silent logger.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

/** Field names that must never reach a log line, whatever module put them there. */
const REDACT = [
  'secret', 'password', 'key', 'msk', 'emsk', 'privateKey',
  '*.secret', '*.password', '*.key', '*.msk', '*.emsk', '*.privateKey',
];

export function createLog(level: string = process.env.GANGWAY_LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Log {
  const opts = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { app: 'gangway' } };
  return (destination ? pino(opts, destination) : pino(opts)) as unknown as Log;
}

export function silentLog(): Log {
  return pino({ level: 'silent' }) as unknown as Log;
}
