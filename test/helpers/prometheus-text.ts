/**
 * A strict reader of the Prometheus text format (0.0.4) for tests: every line must be a comment,
 * HELP, TYPE or a sample, label values are unescaped, and anything else throws. Written apart from
 * src/metrics so that a bug in the writer is not mirrored here.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition does not end with a line feed');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const space = rest.indexOf(' ');
      out.help.set(rest.slice(0, space), unescape(rest.slice(space + 1), false));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, extra] = line.slice(7).split(' ');
      if (!name || !type || extra !== undefined || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`bad TYPE line: ${line}`);
      if (out.types.has(name)) throw new Error(`TYPE given twice for ${name}`);
      out.types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    out.samples.push(parseSample(line));
  }
  return out;
}

function parseSample(line: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) throw new Error(`bad sample line: ${line}`);
  const name = m[1]!;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!lm) throw new Error(`bad label at ${i}: ${line}`);
      i += lm[0].length;
      let raw = '';
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unterminated label value: ${line}`);
        if (line[i] === '\\') {
          raw += line.slice(i, i + 2);
          i += 2;
        } else {
          raw += line[i];
          i++;
        }
      }
      i++;
      if (Object.hasOwn(labels, lm[1]!)) throw new Error(`label ${lm[1]} twice: ${line}`);
      labels[lm[1]!] = unescape(raw, true);
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } at ${i}: ${line}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value: ${line}`);
  const valueText = line.slice(i + 1);
  if (valueText.includes(' ')) throw new Error(`timestamps are not expected: ${line}`);
  const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? NaN : Number(valueText);
  if (valueText === '' || (Number.isNaN(value) && valueText !== 'NaN')) throw new Error(`bad value: ${line}`);
  return { name, labels, value };
}

function unescape(raw: string, quotes: boolean): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = raw[++i];
    if (next === 'n') out += '\n';
    else if (next === '\\') out += '\\';
    else if (next === '"' && quotes) out += '"';
    else throw new Error(`bad escape \\${next ?? ''} in ${JSON.stringify(raw)}`);
  }
  return out;
}

/** Samples of one name whose labels include `match`. */
export function samples(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of a name with exactly these labels' values among its own (others free); 0 when absent. */
export function value(e: Exposition, name: string, match: Record<string, string> = {}): number {
  const found = samples(e, name, match);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0]?.value ?? 0;
}
