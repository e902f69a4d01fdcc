/**
 * Serial-number patterns of the ownership policy: `*` any run of characters (also none), `?` one
 * character, `\` makes the next character literal; everything else matches itself, case-sensitive
 * (serial numbers are opaque strings). The whole serial must match.
 */
export function compileSerialGlob(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i] as string);
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

export class SerialPatterns {
  private readonly compiled: RegExp[];

  constructor(readonly patterns: readonly string[]) {
    this.compiled = patterns.map(compileSerialGlob);
  }

  matches(serial: string): boolean {
    return this.compiled.some((r) => r.test(serial));
  }
}
