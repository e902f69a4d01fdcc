import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import type { CliIo } from './io.js';

/**
 * One declarative definition per command: its options, positional arguments and help text. The
 * parser, `--help` and every usage message are derived from it, so they cannot drift apart.
 */
export interface OptionDef {
  readonly type: 'string' | 'boolean';
  /** May be given more than once; the value is then a list. */
  readonly multiple?: boolean;
  /** Placeholder of the value in help, e.g. DIR. */
  readonly value?: string;
  /** Help text; further lines continue it. */
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionDef>>;

export type OptionValues<O extends OptionTable> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string | undefined;
};

export interface ParsedArgs<O extends OptionTable> {
  values: OptionValues<O>;
  positionals: string[];
}

export interface CommandSpec<O extends OptionTable> {
  readonly name: string;
  /** One line for `gangway --help`. */
  readonly summary: string;
  /** What follows `gangway ` on each usage line (the first line names the command's plain form). */
  readonly synopsis: readonly string[];
  /** Paragraph(s) after the usage lines. */
  readonly description?: string;
  readonly options: O;
  /** How many positional arguments are allowed. Default none. */
  readonly positionals?: { readonly min: number; readonly max: number };
  /** Text after the options, typically the exit status. */
  readonly epilog?: string;
}

/** A mistake in how the command was called: exit 2, the problem and the usage on stderr. */
export class UsageError extends Error {}

/**
 * The command cannot run with the data directory (or other input) it was given: exit 78 (EX_CONFIG),
 * one message saying what to do.
 */
export class SetupError extends Error {}

const HELP_OPTION: OptionDef = { type: 'boolean', help: 'show this help and exit' };

export function defineCommand<const O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  for (const name of Object.keys(spec.options)) {
    if (name === 'help' || !/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`command ${spec.name}: bad option name ${name}`);
  }
  return spec;
}

/** The full help text of a command. */
export function usage(spec: CommandSpec<OptionTable>): string {
  const lines = spec.synopsis.map((s, i) => `${i === 0 ? 'usage: ' : '       '}gangway ${s}`);
  const parts = [lines.join('\n')];
  if (spec.description) parts.push(spec.description.trimEnd());
  const entries: [string, OptionDef][] = [...Object.entries(spec.options), ['help', HELP_OPTION]];
  const labels = entries.map(([name, def]) => `${name === 'help' ? '-h, ' : ''}--${name}${def.value ? ` ${def.value}` : ''}`);
  const width = Math.min(28, Math.max(...labels.map((l) => l.length)) + 2);
  const optionLines = entries.map(([, def], i) => {
    const label = labels[i]!;
    const [first, ...rest] = def.help.split('\n');
    const head = label.length + 2 > width ? `  ${label}\n  ${' '.repeat(width)}${first}` : `  ${label.padEnd(width)}${first}`;
    return [head, ...rest.map((r) => `  ${' '.repeat(width)}${r}`)].join('\n');
  });
  parts.push(`Options:\n${optionLines.join('\n')}`);
  if (spec.epilog) parts.push(spec.epilog.trimEnd());
  return `${parts.join('\n\n')}\n`;
}

/** Parses argv against the definition; throws UsageError. `help` is true when --help or -h was given. */
export function parseCommand<O extends OptionTable>(spec: CommandSpec<O>, argv: string[]): { help: true } | ({ help: false } & ParsedArgs<O>) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, def] of Object.entries(spec.options)) options[name] = { type: def.type, ...(def.multiple ? { multiple: true } : {}) };
  // --help wins over every other mistake on the line, as people type it after a failed attempt.
  const terminator = argv.indexOf('--');
  const beforeTerminator = terminator === -1 ? argv : argv.slice(0, terminator);
  if (beforeTerminator.includes('--help') || beforeTerminator.includes('-h')) return { help: true };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(plainParseError(err));
  }
  const positionals = parsed.positionals;
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  if (positionals.length > max) {
    throw new UsageError(max === 0 ? `unexpected argument "${positionals[0]}"` : `unexpected argument "${positionals[max]}"`);
  }
  if (positionals.length < min) throw new UsageError('missing argument');
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(spec.options)) {
    const v = (parsed.values as Record<string, unknown>)[name];
    if (def.type === 'boolean') values[name] = v === true;
    else if (def.multiple) values[name] = (v as string[] | undefined) ?? [];
    else values[name] = v;
  }
  return { help: false, values: values as OptionValues<O>, positionals };
}

/** node:util's messages name the fix for positionals starting with '-', which is rarely the problem. */
function plainParseError(err: unknown): string {
  // Not `instanceof Error`: under a test VM the error comes from another realm.
  const message = typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `option ${missing[1]} needs a value`;
  const ambiguous = /^Option '([^']+?)(?: <value>)?' argument is ambiguous/.exec(message);
  if (ambiguous) return `option ${ambiguous[1]} needs a value (to pass one starting with '-', write ${ambiguous[1]}=VALUE)`;
  const boolValue = /^Option '([^']+)' does not take an argument/.exec(message);
  if (boolValue) return `option ${boolValue[1]} takes no value`;
  return message.split('\n')[0]!;
}

/**
 * Runs a command body with the parsed arguments, turning --help into the usage on stdout (exit 0),
 * UsageError into the problem and the usage on stderr (exit 2), SetupError and ConfigError into one
 * line on stderr (exit 78).
 */
export async function runCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  argv: string[],
  io: CliIo,
  body: (args: ParsedArgs<O>) => Promise<number>,
): Promise<number> {
  try {
    const parsed = parseCommand(spec, argv);
    if (parsed.help) {
      io.stdout(usage(spec));
      return 0;
    }
    return await body(parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`gangway ${spec.name}: ${err.message}\n\n${usage(spec)}`);
      return 2;
    }
    if (err instanceof SetupError || err instanceof ConfigError) {
      io.stderr(`gangway ${spec.name}: ${err.message}\n`);
      return 78;
    }
    throw err;
  }
}

/** A command as main.ts and the tests see it. */
export interface CliCommandEntry {
  readonly spec: CommandSpec<OptionTable>;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Integer option in [min, max], or undefined when absent; anything else is a usage error. */
export function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not "${value}"`);
  return n;
}
