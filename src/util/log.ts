import { Writable } from 'node:stream';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { LOG_CAPTURE_ENV, logCaptureHook } from './log-capture.js';
import { LOG_FIELD_MAX, clipForLog, clipLogFields } from './log-fields.js';

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
  const capture = logCaptureHook();
  const opts: LoggerOptions = {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { app: 'gangway' },
    // Attacker text is clipped where it is logged; this is the net under every line (log-fields.ts).
    formatters: { log: (obj) => clipLogFields(obj), bindings: (b) => clipLogFields(b) },
    hooks: {
      logMethod(args, method) {
        const [first, second, ...rest] = args as unknown[];
        if (typeof second === 'string' && second.length > 2 * LOG_FIELD_MAX) return method.apply(this, [first, clipForLog(second, 2 * LOG_FIELD_MAX), ...rest] as Parameters<typeof method>);
        return method.apply(this, args);
      },
      // Only under GANGWAY_LOG_CAPTURE (the test suite's log scan): a copy of each line as written.
      ...(capture ? { streamWrite: capture } : {}),
    },
  };
  return clippedBindings(destination ? pino(opts, destination) : pino(opts));
}

/** pino's formatters do not see a child's bindings: they are clipped on the way in. */
function clippedBindings(logger: Logger): Log {
  return {
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
    child: (bindings) => lazyChild(() => logger, logger, bindings),
  };
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A child whose pino logger (and its parents' that are not made yet) is made when it first writes
 * a line at an enabled level. Every EAP conversation gets child loggers (conversation, tunnel,
 * inner method) whose debug lines are off in production; making a pino child (bindings
 * serialized, redaction prepared) for each was a measurable share of a TEAP authentication's CPU
 * and garbage. Children inherit the root's level, so the root answers whether a level is on.
 */
function lazyChild(parent: () => Logger, root: Logger, bindings: Record<string, unknown>): Log {
  let made: Logger | undefined;
  const real = (): Logger => (made ??= parent().child(clipLogFields(bindings)));
  const at = (level: Level) => (obj: object, msg?: string): void => {
    if (made !== undefined || root.isLevelEnabled(level)) real()[level](obj, msg);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => lazyChild(real, root, more) };
}

/**
 * A logger that writes nothing. Under GANGWAY_LOG_CAPTURE its lines, at debug, still reach the
 * capture, so that what a silenced peer or test would have logged is scanned for secrets too.
 */
export function silentLog(): Log {
  if (process.env[LOG_CAPTURE_ENV]) return createLog('debug', new Writable({ write: (_chunk, _enc, done) => done() }));
  return pino({ level: 'silent' }) as unknown as Log;
}
