import { Writable } from 'node:stream';
import { escapeForTerminal } from './escape-text.js';

/**
 * `gangway serve --debug`: pino's JSON lines turned into one readable line each, like
 * `radiusd -X`. Fields other than the message follow as key=value; an error's stack follows on
 * indented lines. Every string is escaped, since identities and device data reach the log.
 */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '\x1b[90m', 20: '\x1b[36m', 30: '\x1b[32m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[41m' };
/** pino's own fields, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app', 'module', 'v']);
/** Longest line piece we keep from one field: a stray certificate must not flood the terminal. */
const MAX_FIELD = 2000;

export interface PrettyOptions {
  colour?: boolean;
}

export function formatLogLine(line: string, opts: PrettyOptions = {}): string {
  let obj: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return `${escapeForTerminal(line)}\n`;
    obj = parsed as Record<string, unknown>;
  } catch {
    return `${escapeForTerminal(line)}\n`;
  }
  const level = typeof obj.level === 'number' ? obj.level : 30;
  const time = typeof obj.time === 'number' ? localTime(new Date(obj.time)) : '--:--:--.---';
  const name = LEVELS[level] ?? String(level);
  const levelText = opts.colour ? `${COLOURS[level] ?? ''}${name}\x1b[0m` : name;
  const module = typeof obj.module === 'string' ? ` [${escapeForTerminal(obj.module)}]` : '';
  const msg = typeof obj.msg === 'string' ? ` ${escapeForTerminal(obj.msg)}` : '';
  const fields: string[] = [];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(obj)) {
    if (HEAD_FIELDS.has(key)) continue;
    if (key === 'err' && value !== null && typeof value === 'object' && typeof (value as { stack?: unknown }).stack === 'string') {
      const err = value as { message?: unknown; stack: string };
      stack = err.stack;
      fields.push(`err=${quote(typeof err.message === 'string' ? err.message : 'error')}`);
      continue;
    }
    fields.push(`${escapeForTerminal(key)}=${quote(value)}`);
  }
  let out = `${time} ${levelText}${module}${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
  if (stack !== undefined) out += stack.split('\n').slice(1).map((l) => `    ${escapeForTerminal(l.trim())}\n`).join('');
  return out;
}

function localTime(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function quote(value: unknown): string {
  let text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  if (text.length > MAX_FIELD) text = `${text.slice(0, MAX_FIELD)}…(${text.length} characters)`;
  const escaped = escapeForTerminal(text);
  return typeof value === 'string' && (escaped === '' || /[\s"=]/.test(escaped)) ? `"${escaped.replace(/"/g, '\\"')}"` : escaped;
}

/** A destination for createLog that writes formatted lines to `out`. */
export function prettyLogStream(out: NodeJS.WritableStream, opts: PrettyOptions = {}): Writable {
  let pending = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, callback) {
      pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      // pino writes whole lines; a writer that never ends one must not grow this without bound.
      if (pending.length > 1_000_000) pending += '\n';
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.length > 0) out.write(formatLogLine(line, opts));
      }
      callback();
    },
    final(callback) {
      if (pending.length > 0) out.write(formatLogLine(pending, opts));
      pending = '';
      callback();
    },
  });
}
