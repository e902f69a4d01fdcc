/**
 * Checks and conversions for the YANG types the voucher leaves use (RFC 6991 yang:date-and-time,
 * inet:uri, binary as base64 in RFC 7951 JSON), shared by the JSON and the CBOR encodings.
 */

const DATE_AND_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * yang:date-and-time (RFC 6991 §3: the RFC 3339 date-time profile, upper-case T and Z). The fields
 * must name a real instant: month 1-12, the day within that month, hour < 24, second <= 60 (leap).
 */
export function isDateAndTime(value: string): boolean {
  const m = DATE_AND_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

/** Milliseconds since the epoch of a valid date-and-time (leap second 60 counts as :59.999). */
export function dateAndTimeToMillis(value: string): number {
  if (!isDateAndTime(value)) throw new RangeError(`not a date-and-time: ${value}`);
  const leap = /:60(\.\d+)?(Z|[+-])/.exec(value);
  const normal = leap ? value.replace(/:60(\.\d+)?(?=Z|[+-])/, ':59.999') : value;
  return Date.parse(normal);
}

/** The date-and-time we write: UTC with milliseconds, as in the RFC 8995 and cBRSKI examples. */
export function toDateAndTime(when: Date): string {
  return when.toISOString();
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const BASE64_STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

export interface DecodedBinary {
  bytes: Uint8Array;
  /** True when the text is exactly the standard, padded base64 of `bytes` (what we write). */
  canonical: boolean;
}

/**
 * A binary leaf's text (RFC 7951 §6.6 says base64). The RFC 8995 examples also use base64url without
 * padding (the nonce), so both alphabets are accepted, with or without padding, but not mixed, with
 * no white space, and with zero unused bits, so one text always means one byte string. Returns
 * undefined when the text is not such an encoding.
 */
export function decodeBase64Binary(text: string): DecodedBinary | undefined {
  const standard = BASE64_STANDARD.test(text);
  const url = BASE64_URL.test(text);
  if (!standard && !url) return undefined;
  const body = text.replace(/=+$/, '');
  const padding = text.length - body.length;
  if (body.length % 4 === 1) return undefined;
  if (padding > 0 && (body.length + padding) % 4 !== 0) return undefined;
  const bytes = new Uint8Array(Buffer.from(body, standard ? 'base64' : 'base64url'));
  // Re-encoding catches non-zero unused bits, which Buffer would silently drop.
  const again = Buffer.from(bytes).toString(standard ? 'base64' : 'base64url').replace(/=+$/, '');
  if (again !== body) return undefined;
  return { bytes, canonical: text === encodeBase64(bytes) };
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*$/;

/** inet:uri, checked as far as the voucher needs: a scheme and no white space or controls. */
export function isUri(value: string): boolean {
  return URI_SCHEME.test(value);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
