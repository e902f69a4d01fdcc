'use strict';
/**
 * The scan behind log-scan-reporter.cjs (issue 8.6: no secret, key, password, Noob, Kz or MSK in
 * any log line). It reads the lines a test run captured (GANGWAY_LOG_CAPTURE, src/util/log-capture.ts)
 * and reports each line that holds
 *  - a PEM private key block,
 *  - a value under a field whose name denotes a secret (exact names, any case, `_`/`-` ignored,
 *    at any depth; pino's "[redacted]" and plain numbers or booleans are not values),
 *  - a private JWK (an object with "kty" and "d"),
 *  - one of the literal secrets and passwords of the test suite (test-secrets.ts, plus every
 *    literal the test sources assign to a name containing secret/password/passwd/passphrase),
 *    as text or hex.
 * Plain CommonJS so that Jest loads it as a reporter without a transform.
 */
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

/**
 * Field names whose value is a secret, normalised (lower case, no `_` or `-`). Exact names only:
 * "keyingMode", "emskMac", "peerId" or "noobId" carry no secret and must not match.
 */
const SECRET_FIELDS = new Set([
  // RADIUS and account secrets
  'secret', 'sharedsecret', 'radiussecret', 'clientsecret', 'nassecret',
  'password', 'passwd', 'passphrase', 'userpassword', 'oldpassword', 'newpassword',
  'passwordhash', 'nthash', 'ntpasswordhash', 'passwordhashhash', 'ntresponse',
  // keys
  'key', 'privatekey', 'privkey', 'secretkey', 'signingkey', 'sharedkey', 'sessionkey',
  // EAP keying material (RFC 5247), MPPE, TLS, TEAP (RFC 9930)
  'msk', 'emsk', 'amsk', 'imsk', 'simck', 'imck', 'cmk', 'pmk', 'psk',
  'mppesendkey', 'mpperecvkey', 'mastersecret', 'premastersecret', 'sessionkeyseed',
  // EAP-NOOB (RFC 9140)
  'noob', 'kz', 'z', 'kms', 'kmp',
  // bearer credentials
  'token', 'accesstoken', 'sessiontoken', 'csrftoken', 'cookie', 'authorization', 'apikey',
]);

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
const REDACTED = '[redacted]';
const MAX_DEPTH = 12;

function normaliseName(name) {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/** A value that could hold a secret: a non-empty string other than pino's censor, or a non-empty object (a Buffer or Uint8Array serialised). */
function holdsValue(value) {
  if (typeof value === 'string') return value.length > 0 && value !== REDACTED;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}

function walk(value, path, depth, out) {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
  if (!Array.isArray(value) && typeof value.kty === 'string' && holdsValue(value.d)) out.push({ rule: 'private JWK', what: `${path || '(line)'}.d` });
  for (const [name, child] of Object.entries(value)) {
    const at = path ? `${path}.${name}` : name;
    if (!Array.isArray(value) && SECRET_FIELDS.has(normaliseName(name)) && holdsValue(child)) {
      out.push({ rule: 'secret field', what: at });
      continue;
    }
    walk(child, at, depth + 1, out);
  }
}

/**
 * Findings in one captured line. `literals` maps each literal to look for (literalForms) to what it
 * is; a line that is not JSON is still checked for PEM blocks and literals.
 */
function scanLine(line, literals) {
  const out = [];
  if (PEM_PRIVATE_KEY.test(line)) out.push({ rule: 'PEM private key', what: line.match(PEM_PRIVATE_KEY)[0] });
  let parsed;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined) walk(parsed, '', 0, out);
  for (const [literal, what] of literals) {
    if (line.includes(literal)) out.push({ rule: 'test secret', what });
  }
  return out;
}

/** Every `*.jsonl` file of the capture directory, each line scanned. */
function scanCapture(dir, literals) {
  const result = { files: 0, lines: 0, octets: 0, findings: [] };
  if (!existsSync(dir)) return result;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    result.files += 1;
    result.octets += Buffer.byteLength(text);
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.length === 0) continue;
      result.lines += 1;
      for (const f of scanLine(line, literals)) result.findings.push({ ...f, file: name, lineNumber: i + 1, time: lineTime(line), line });
    }
  }
  return result;
}

function lineTime(line) {
  const m = /"time":(\d{10,16})/.exec(line);
  return m ? Number(m[1]) : undefined;
}

// ---- the literal secrets of the test suite ----

/** `export const NAME = '…';` lines of test-secrets.ts, as [name, value]. */
function parseRegistry(text) {
  const out = [];
  for (const m of text.matchAll(/^export const ([A-Z0-9_]+) = '([^'\\]+)';$/gm)) out.push([m[1], m[2]]);
  return out;
}

const SECRET_NAME = /secret|password|passwd|passphrase/i;
// `name: 'v'`, `name = 'v'`, `"name": "v"`, `name="v"` (tool configs): a literal of 8 to 200 characters, no interpolation.
const ASSIGNED = /([A-Za-z_$][\w$-]*)["']?\s*[:=]\s*(['"`])([^'"`\\\n$]{8,200})\2/g;
// `'--password', 'v'` (command lines).
const FLAG_VALUE = /['"]--([\w-]+)['"]\s*,\s*(['"`])([^'"`\\\n$]{8,200})\2/g;
const SOURCE_FILE = /\.(?:ts|cjs|mjs|js|json|ya?ml|conf|txt)$/;
// Names that hold where or what a secret is, not the secret.
const NOT_A_SECRET_NAME = /(?:file|path|dir|env|name|length|len|type|kind|source|label|hint|policy|mode|prompt|field)s?$/i;

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.isFile() && SOURCE_FILE.test(entry.name) && statSync(path).size <= 2_000_000) yield path;
  }
}

/**
 * The literal secrets to look for: the registry's, and every literal that a test source assigns to
 * a secret-like name. A literal that also appears in the product's sources (src/) is left out —
 * a word like "password" or "testing123" appears in lines for other reasons — and so is pino's
 * censor. Returns a Map of literal -> where it comes from.
 */
function collectLiterals(rootDir) {
  const testDir = join(rootDir, 'test');
  const srcDir = join(rootDir, 'src');
  const product = existsSync(srcDir) ? [...sourceFiles(srcDir)].map((f) => readFileSync(f, 'utf8')).join('\n') : '';
  const found = new Map();
  const add = (value, where) => {
    if (value.trim().length < 8 || value.includes(REDACTED) || product.includes(value) || found.has(value)) return;
    found.set(value, where);
  };
  const registry = join(testDir, 'helpers', 'test-secrets.ts');
  if (existsSync(registry)) for (const [name, value] of parseRegistry(readFileSync(registry, 'utf8'))) add(value, `test-secrets.ts ${name}`);
  if (existsSync(testDir)) {
    for (const file of sourceFiles(testDir)) {
      const text = readFileSync(file, 'utf8');
      const where = relative(rootDir, file);
      for (const re of [ASSIGNED, FLAG_VALUE]) {
        for (const m of text.matchAll(re)) {
          if (SECRET_NAME.test(m[1]) && !NOT_A_SECRET_NAME.test(m[1])) add(m[3], `${where} (${m[1]})`);
        }
      }
    }
  }
  return found;
}

/** What scanLine looks for: each literal as text and as the hex of its UTF-8 octets. */
function literalForms(literals) {
  const forms = new Map(literals);
  for (const [value, where] of literals) forms.set(Buffer.from(value, 'utf8').toString('hex'), `${where}, as hex`);
  return forms;
}

module.exports = { SECRET_FIELDS, scanLine, scanCapture, collectLiterals, literalForms, parseRegistry };
