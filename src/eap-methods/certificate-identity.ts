/**
 * The identity an authorized client certificate establishes. Only what the CA signed counts: the
 * request's User-Name and EAP-Response/Identity are the peer's own claims and never stand in.
 *
 * Precedence, first usable value wins:
 *   1. subject commonName (the first non-empty CN in certificate order, as OpenSSL's
 *      X509_NAME_get_text_by_NID reads it; what existing deployments match on)
 *   2. subjectAltName rfc822Name (e-mail address)
 *   3. subjectAltName otherName UPN (Microsoft User Principal Name, common in AD-issued certificates)
 *   4. subjectAltName dNSName
 *   5. subjectAltName uniformResourceIdentifier
 *   6. the other subject attributes as one `KEY=value, ...` string
 * A value is usable when it is not blank and holds no control character (a NUL or line break in a
 * name would truncate or forge fields downstream: User-Name, logs, accounting). An empty subject
 * with a subjectAltName is valid (RFC 5280 §4.1.2.6) and names the peer through its SAN. A
 * certificate with nothing usable is refused with the reason.
 */
export type CertificateNameSource = 'subject CN' | 'SAN rfc822Name' | 'SAN UPN' | 'SAN dNSName' | 'SAN URI' | 'subject';

export type CertificateIdentity =
  | { identity: string; source: CertificateNameSource }
  | { identity: undefined; refusal: string };

/** The subject as Node gives it in a peer certificate object: repeated attributes become arrays. */
export type SubjectFields = Readonly<Record<string, string | readonly string[] | undefined>>;

const SAN_SOURCES: readonly (readonly [prefix: string, source: CertificateNameSource])[] = [
  ['email', 'SAN rfc822Name'],
  ['othername:UPN', 'SAN UPN'],
  ['DNS', 'SAN dNSName'],
  ['URI', 'SAN URI'],
];

/** `subjectAltName` is Node's text form: `TYPE:value` entries joined by ", ". */
export function certificateIdentity(subject: SubjectFields | undefined, subjectAltName: string | undefined): CertificateIdentity {
  const fields = subjectEntries(subject);
  const cn = fields.find(([key, value]) => key === 'CN' && usable(value));
  if (cn) return { identity: cn[1], source: 'subject CN' };

  const sans = subjectAltNames(subjectAltName);
  for (const [prefix, source] of SAN_SOURCES) {
    const hit = sans.find((s) => s.type === prefix && usable(s.value));
    if (hit) return { identity: hit.value, source };
  }

  const rest = fields.filter(([, value]) => usable(value));
  if (rest.length > 0) return { identity: rest.map(([key, value]) => `${key}=${escapeDnValue(value)}`).join(', '), source: 'subject' };

  const subjectText = fields.length === 0 ? 'an empty subject' : `a subject with no usable value (${fields.map(([k]) => k).join(', ')})`;
  const sanText = sans.length === 0 ? 'no subjectAltName' : `no usable e-mail, UPN, DNS or URI subjectAltName (${summarise(sans.map((s) => s.type))})`;
  return { identity: undefined, refusal: `client certificate has no usable name: ${subjectText} and ${sanText}` };
}

function usable(value: string): boolean {
  // C0 controls, DEL and C1 controls.
  return value.trim().length > 0 && !/[\u0000-\u001f\u007f-\u009f]/.test(value);
}

function subjectEntries(subject: SubjectFields | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (!subject) return out;
  for (const key of Object.keys(subject)) {
    const value = subject[key];
    if (typeof value === 'string') out.push([key, value]);
    else if (Array.isArray(value)) for (const v of value as readonly unknown[]) if (typeof v === 'string') out.push([key, v]);
  }
  return out;
}

interface SanEntry {
  /** `email`, `DNS`, `URI`, `IP Address`, `DirName`, ...; an otherName is `othername:<its name>`. */
  type: string;
  value: string;
}

/**
 * Node prints a value that holds a delimiter or anything unusual as a JSON string literal (with
 * `,` as \u002c), so ", " never occurs inside a value and the list splits safely. An entry that
 * cannot be read is skipped: it then names no one, which is the safe direction.
 */
function subjectAltNames(text: string | undefined): SanEntry[] {
  if (!text) return [];
  const out: SanEntry[] = [];
  for (const entry of text.split(', ')) {
    const colon = entry.indexOf(':');
    if (colon <= 0) continue;
    let type = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (typeof parsed !== 'string') continue;
        value = parsed;
      } catch {
        continue;
      }
    }
    if (type === 'othername') {
      // `othername:UPN:value`; other otherName forms are not names we use.
      const inner = value.indexOf(':');
      if (inner <= 0) continue;
      type = `othername:${value.slice(0, inner)}`;
      value = value.slice(inner + 1);
    }
    out.push({ type, value });
  }
  return out;
}

/** RFC 4514 §2.4 escaping, so that the joined string reads back as the same attributes. */
function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;]/g, (c) => `\\${c}`)
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}

function summarise(types: string[]): string {
  const distinct = [...new Set(types)];
  return distinct.length <= 5 ? distinct.join(', ') : `${distinct.slice(0, 5).join(', ')} and ${distinct.length - 5} more types`;
}
