/**
 * Attacker-supplied text (identities, reasons quoting them, NAS attributes) goes into logs clipped,
 * so that one packet cannot write a 16 KB log line. The clipped form says how long the original was.
 */
export const LOG_FIELD_MAX = 256;

export function clipForLog(value: string, max = LOG_FIELD_MAX): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}…[${value.length} chars]`;
}

/** A list as its first entries and a count, e.g. `[1,2,3,… 3998 more]`. */
export function summariseList(values: readonly unknown[], max = 16): string {
  const shown = values.slice(0, max).map((v) => String(v)).join(',');
  return values.length <= max ? `[${shown}]` : `[${shown},… ${values.length - max} more]`;
}

/** Keys whose values are ours and may be long (error stacks). */
const UNCLIPPED = new Set(['err', 'stack']);

/**
 * The safety net under every log line (createLog applies it): strings clipped to LOG_FIELD_MAX,
 * arrays longer than 16 summarised, one level into plain objects. Sites that log attacker text
 * clip it themselves too; this catches the ones that do not.
 */
export function clipLogFields(obj: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(obj)) {
    if (UNCLIPPED.has(key)) continue;
    const clipped = clipValue(value, depth);
    if (clipped !== value) {
      out ??= { ...obj };
      out[key] = clipped;
    }
  }
  return out ?? obj;
}

function clipValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > LOG_FIELD_MAX ? clipForLog(value) : value;
  if (Array.isArray(value)) {
    if (value.length > 16) return summariseList(value.map((v) => (typeof v === 'string' ? clipForLog(v, 64) : typeof v === 'object' && v !== null ? '{…}' : v)));
    if (depth > 0) return value;
    const items = value.map((v) => clipValue(v, depth + 1));
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  if (depth === 0 && typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return clipLogFields(value as Record<string, unknown>, depth + 1);
  }
  return value;
}
