import { NoobError, NoobErrorCode } from './errors.js';

/**
 * A strict RFC 8259 parser that also reports the exact source text of every top-level member value.
 *
 * Why not JSON.parse: RFC 9140 §3.3.2 hashes and MACs the values *as they appeared on the wire*
 * (ServerInfo, PeerInfo, JWKs, arrays) and JSON.parse loses that text. It also silently accepts
 * duplicate member names (last one wins), which would let two parties read one message
 * differently; here a duplicate is a structure error (1002).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

export interface JsonMember {
  readonly key: string;
  readonly value: JsonValue;
  /** The value's source text, exactly as received (no surrounding whitespace). */
  readonly raw: string;
}

export interface JsonLimits {
  /** Deepest nesting of objects/arrays, counting the top-level object as 1. */
  maxDepth: number;
}

const DEFAULT_LIMITS: JsonLimits = { maxDepth: 8 };

function fail(message: string): never {
  throw new NoobError(NoobErrorCode.InvalidMessageStructure, message);
}

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly limits: JsonLimits,
  ) {}

  topLevelObject(): JsonMember[] {
    this.ws();
    if (this.text[this.pos] !== '{') fail('message is not a JSON object');
    const members: JsonMember[] = [];
    const seen = new Set<string>();
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
    } else {
      for (;;) {
        this.ws();
        const key = this.string();
        if (seen.has(key)) fail(`duplicate member "${key}"`);
        seen.add(key);
        this.ws();
        this.expect(':');
        this.ws();
        const start = this.pos;
        const value = this.value(2);
        members.push({ key, value, raw: this.text.slice(start, this.pos) });
        this.ws();
        if (this.text[this.pos] === ',') {
          this.pos++;
          continue;
        }
        this.expect('}');
        break;
      }
    }
    this.ws();
    if (this.pos !== this.text.length) fail('text after the JSON object');
    return members;
  }

  private value(depth: number): JsonValue {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return fail(`unexpected ${c === undefined ? 'end of text' : `character "${c}"`} at ${this.pos}`);
    }
  }

  private object(depth: number): JsonObject {
    if (depth > this.limits.maxDepth) fail('JSON nested too deeply');
    this.pos++;
    // A null-prototype object: member names such as "__proto__" stay plain data.
    const out = Object.create(null) as Record<string, JsonValue>;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) fail(`duplicate member "${key}"`);
      this.ws();
      this.expect(':');
      this.ws();
      out[key] = this.value(depth + 1);
      this.ws();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect('}');
      return out;
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > this.limits.maxDepth) fail('JSON nested too deeply');
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect(']');
      return out;
    }
  }

  private string(): string {
    if (this.text[this.pos] !== '"') fail(`expected a string at ${this.pos}`);
    this.pos++;
    let out = '';
    let runStart = this.pos;
    for (;;) {
      const code = this.text.charCodeAt(this.pos);
      if (Number.isNaN(code)) fail('unterminated string');
      if (code === 0x22) {
        out += this.text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (code < 0x20) fail('control character in string');
      if (code >= 0xd800 && code <= 0xdfff) {
        // Text from a fatal UTF-8 decode only has well-formed pairs, but JS strings handed in
        // directly (configuration) may not: a lone surrogate has no UTF-8 form.
        const next = this.text.charCodeAt(this.pos + 1);
        if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) fail('lone surrogate in string');
        this.pos += 2;
        continue;
      }
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.slice(runStart, this.pos);
      const e = this.text[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const unit = this.hex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed by an escaped low surrogate: lone surrogates have no
            // UTF-8 form, so the two sides could not agree on the bytes.
            if (this.text[this.pos] !== '\\' || this.text[this.pos + 1] !== 'u') fail('lone surrogate escape');
            this.pos += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) fail('lone surrogate escape');
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fail('lone surrogate escape');
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          fail('invalid escape in string');
      }
      runStart = this.pos;
    }
  }

  private hex4(): number {
    const h = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(h)) fail('invalid \\u escape');
    this.pos += 4;
    return parseInt(h, 16);
  }

  private number(): number {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) fail(`invalid number at ${this.pos}`);
    this.pos += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) fail('number out of range');
    return n;
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) fail(`invalid literal at ${this.pos}`);
    this.pos += word.length;
    return value;
  }

  private expect(c: string): void {
    if (this.text[this.pos] !== c) fail(`expected "${c}" at ${this.pos}`);
    this.pos++;
  }

  private ws(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else return;
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly: invalid sequences (and a BOM, which RFC 8259 forbids senders to add) are 1002. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail('message is not valid UTF-8');
  }
}

/** Parses a JSON text that must be one object; returns its members in wire order with their raw text. */
export function parseTopLevelObject(text: string, limits: JsonLimits = DEFAULT_LIMITS): JsonMember[] {
  return new Parser(text, limits).topLevelObject();
}

/** Parses a JSON text that must be one object and returns it as a value. */
export function parseObject(text: string, limits: JsonLimits = DEFAULT_LIMITS): JsonObject {
  const out = Object.create(null) as Record<string, JsonValue>;
  for (const m of parseTopLevelObject(text, limits)) out[m.key] = m.value;
  return out;
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** UTF-8 length of a string, without allocating. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
