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
