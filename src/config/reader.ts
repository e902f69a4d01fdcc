import { ConfigError } from './config-error.js';

/**
 * Walks untrusted configuration data, remembering the dotted path so every error can name the key.
 * Unknown keys are errors too: a typo must not silently fall back to a default.
 */
export class ConfigReader {
  private readonly seen = new Set<string>();

  constructor(private readonly value: Record<string, unknown>, readonly path: string) {}

  static root(value: unknown, path = ''): ConfigReader {
    if (value === null || value === undefined) return new ConfigReader({}, path);
    if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(path || '(top level)', 'must be a mapping');
    return new ConfigReader(value as Record<string, unknown>, path);
  }

  key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  has(name: string): boolean {
    return this.value[name] !== undefined && this.value[name] !== null;
  }

  raw(name: string): unknown {
    this.seen.add(name);
    return this.value[name];
  }

  section(name: string): ConfigReader {
    return ConfigReader.root(this.raw(name), this.key(name));
  }

  string(name: string, fallback?: string): string {
    const v = this.raw(name);
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(this.key(name), 'is required');
    }
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(this.key(name), 'must be a non-empty string');
    return v;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : (this.raw(name), undefined);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(this.key(name), `must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(this.key(name), 'must be an integer');
    if (v < min || v > max) throw new ConfigError(this.key(name), `must be between ${min} and ${max}`);
    return v;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new ConfigError(this.key(name), 'must be true or false');
    return v;
  }

  stringList(name: string, fallback: string[]): string[] {
    const v = this.raw(name);
    if (v === undefined || v === null) return fallback;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new ConfigError(this.key(name), 'must be a string or a list of strings');
    }
    return list as string[];
  }

  list(name: string): ConfigReader[] {
    const v = this.raw(name);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new ConfigError(this.key(name), 'must be a list');
    return v.map((item, i) => ConfigReader.root(item, `${this.key(name)}[${i}]`));
  }

  /** Call after reading a section: any key never asked for is a mistake. */
  done(): void {
    for (const k of Object.keys(this.value)) {
      if (!this.seen.has(k)) throw new ConfigError(this.key(k), 'is not a known setting');
    }
  }
}
