/**
 * MUD URLs (RFC 8520) and the URL patterns an operator maps them with. Gangway never fetches a MUD
 * file: the URL a device presents only selects a configured policy, so the patterns are matched
 * against the URL's text.
 *
 * Both sides are compared in WHATWG-normalised form (`new URL(x).href`: scheme and host lower-case,
 * dot segments resolved, a bare authority gets its `/`), so `HTTPS://MUD.Acme.Example/a/../t.json`
 * and `https://mud.acme.example/t.json` are the same URL. In a pattern `*` stands for any run of
 * characters, `/` included; everything else is literal.
 */

/** Longer URLs are not MUD URLs we act on (a certificate extension or PeerInfo could carry megabytes). */
export const MAX_MUD_URL_LENGTH = 2048;

export class MudPatternError extends Error {
  override readonly name = 'MudPatternError';
}

export interface MudPattern {
  /** The pattern as configured, for logs and errors. */
  readonly source: string;
  /** Normalised text; `*` is the only special character. */
  readonly text: string;
}

/**
 * Checks and normalises a configured pattern. RFC 8520 §3.1 (and §10 for the certificate
 * extension) requires the https scheme, so a pattern for anything else could never match.
 */
export function parseMudPattern(source: string): MudPattern {
  if (source.length === 0 || source.length > MAX_MUD_URL_LENGTH) throw new MudPatternError(`must be 1..${MAX_MUD_URL_LENGTH} characters`);
  if (!/^https:\/\//i.test(source)) throw new MudPatternError('must start with https:// (RFC 8520: MUD URLs use the https scheme)');
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new MudPatternError('is not a URL (a * may stand in host labels, the path and the query, not in the scheme or port)');
  }
  if (url.username !== '' || url.password !== '') throw new MudPatternError('must not contain user information');
  if (url.hash !== '') throw new MudPatternError('must not contain a fragment');
  return { source, text: url.href };
}

/** The normalised MUD URL, or undefined when the text is no https URL we act on. */
export function normaliseMudUrl(text: string): string | undefined {
  if (text.length === 0 || text.length > MAX_MUD_URL_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
  return url.href;
}

/** Whether a normalised MUD URL matches a pattern. */
export function mudPatternMatches(pattern: MudPattern, mudUrl: string): boolean {
  return wildcardMatch(pattern.text, mudUrl);
}

/**
 * `*` matches any run of characters. Iterative with one backtrack point (the last `*` seen), so
 * the cost is at most pattern × text steps whatever the input — no regular expression to blow up.
 */
function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
