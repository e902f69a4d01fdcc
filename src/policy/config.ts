/**
 * The `authorization` section of gangway.yaml → an AuthorizationPolicy. Every error names its key.
 * The older form (`authorization: { vlan, sessionTimeout }`) still works and means `default`.
 */
import { ConfigError } from '../config/config-error.js';
import { ConfigReader } from '../config/reader.js';
import { DEVICE_CLASSES, type AuthorizationPolicy, type DeviceClass, type MudRule, type PolicyAttributes, type Vlan } from './authorization-policy.js';
import { MudPatternError, parseMudPattern } from './mud-url.js';

const ATTRIBUTE_KEYS = ['vlan', 'sessionTimeout', 'filterId', 'class'] as const;
/** What RFC 2865 allows in one attribute; Tunnel-Private-Group-ID spends one octet on its tag. */
const MAX_STRING_OCTETS = 253;
const MAX_VLAN_NAME_OCTETS = 252;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function parseAuthorizationConfig(section: ConfigReader): AuthorizationPolicy {
  const defaults = readAttributes(section.section('default'));
  // The older keys at the top of the section are the default layer too; both at once is ambiguous.
  const legacy = readAttributes(section, ['vlan', 'sessionTimeout']);
  for (const k of ['vlan', 'sessionTimeout'] as const) {
    if (legacy[k] === undefined) continue;
    if (defaults[k] !== undefined) throw new ConfigError(section.key(k), `is also set as ${section.key(`default.${k}`)}; keep one`);
    (defaults as Record<string, unknown>)[k] = legacy[k];
  }

  const methods = readMap(section, 'methods', (r) => readAttributes(r));

  const devicesReader = section.section('devices');
  const devices = new Map<DeviceClass, PolicyAttributes>();
  let manufacturers = new Map<string, PolicyAttributes>();
  for (const cls of DEVICE_CLASSES) {
    if (!devicesReader.has(cls)) {
      devicesReader.raw(cls);
      continue;
    }
    const r = devicesReader.section(cls);
    if (cls === 'brski') manufacturers = readMap(r, 'manufacturers', (m) => readAttributes(m));
    devices.set(cls, readAttributes(r, [...ATTRIBUTE_KEYS], cls === 'brski' ? ['manufacturers'] : []));
  }
  try {
    devicesReader.done();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.key, `is not a device class (known: ${DEVICE_CLASSES.join(', ')})`);
    throw err;
  }

  const users = readMap(section, 'users', (r) => readAttributes(r));

  const mud = section.list('mud').map((r): MudRule => {
    const source = r.string('url');
    let pattern;
    try {
      pattern = parseMudPattern(source);
    } catch (err) {
      if (err instanceof MudPatternError) throw new ConfigError(r.key('url'), err.message);
      throw err;
    }
    const attrs = readAttributes(r, [...ATTRIBUTE_KEYS], ['url']);
    if (Object.keys(attrs).length === 0) throw new ConfigError(r.path, `sets nothing: give at least one of ${ATTRIBUTE_KEYS.join(', ')}`);
    return { pattern, ...attrs };
  });

  const member = section.optionalString('mudPeerInfoMember');
  if (member !== undefined && (member.length > 64 || CONTROL.test(member))) {
    throw new ConfigError(section.key('mudPeerInfoMember'), 'must be a PeerInfo member name of at most 64 characters');
  }
  section.done();
  return { default: defaults, methods, devices, manufacturers, users, mud, ...(member !== undefined ? { mudPeerInfoMember: member } : {}) };
}

/**
 * Names that only the running server knows: the registered EAP methods and the brski section's
 * manufacturers. A rule for a name that does not exist is a typo that would never apply.
 */
export function checkAuthorizationNames(policy: AuthorizationPolicy, known: { methods: readonly string[]; manufacturers: readonly string[] }, path = 'authorization'): void {
  for (const m of policy.methods.keys()) {
    if (!known.methods.includes(m)) throw new ConfigError(`${path}.methods.${m}`, `is not an available EAP method (known: ${known.methods.join(', ')})`);
  }
  for (const m of policy.manufacturers.keys()) {
    if (!known.manufacturers.includes(m)) {
      throw new ConfigError(`${path}.devices.brski.manufacturers.${m}`, known.manufacturers.length === 0 ? 'there is no brski section naming manufacturers' : `is not a manufacturer of the brski section (known: ${known.manufacturers.join(', ')})`);
    }
  }
}

/** A mapping of names to sections; plain objects from YAML are read into a Map (no prototype keys). */
function readMap<T>(parent: ConfigReader, name: string, read: (r: ConfigReader) => T): Map<string, T> {
  const raw = parent.raw(name);
  const out = new Map<string, T>();
  if (raw === undefined || raw === null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(parent.key(name), 'must be a mapping of names to settings');
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key.length === 0 || Buffer.byteLength(key, 'utf8') > 253 || CONTROL.test(key)) throw new ConfigError(`${parent.key(name)}.${key}`, 'is not a usable name');
    out.set(key, read(ConfigReader.root(value, `${parent.key(name)}.${key}`)));
  }
  return out;
}

/**
 * The attribute keys of one layer. `keys` limits which are read (the top of the section has only the
 * older two); `others` are keys the caller reads itself. Unless `keys` is partial, unknown keys are errors.
 */
function readAttributes(r: ConfigReader, keys: readonly string[] = ATTRIBUTE_KEYS, others: readonly string[] = []): PolicyAttributes {
  const out: PolicyAttributes = {};
  if (keys.includes('vlan') && r.has('vlan')) out.vlan = readVlan(r);
  else if (keys.includes('vlan')) r.raw('vlan');
  if (keys.includes('sessionTimeout') && r.has('sessionTimeout')) out.sessionTimeout = r.integer('sessionTimeout', 0, 60, 31_536_000);
  if (keys.includes('filterId')) {
    const v = readText(r, 'filterId', MAX_STRING_OCTETS);
    if (v !== undefined) out.filterId = v;
  }
  if (keys.includes('class')) {
    const v = readText(r, 'class', MAX_STRING_OCTETS);
    if (v !== undefined) out.class = v;
  }
  for (const k of others) r.raw(k);
  if (keys.length === ATTRIBUTE_KEYS.length) r.done();
  return out;
}

function readVlan(r: ConfigReader): Vlan {
  const v = r.raw('vlan');
  if (typeof v === 'string') {
    if (v.length === 0 || Buffer.byteLength(v, 'utf8') > MAX_VLAN_NAME_OCTETS || CONTROL.test(v)) {
      throw new ConfigError(r.key('vlan'), `a VLAN name must be 1..${MAX_VLAN_NAME_OCTETS} octets without control characters`);
    }
    return v;
  }
  return r.integer('vlan', 0, 1, 4094);
}

function readText(r: ConfigReader, name: string, maxOctets: number): string | undefined {
  if (!r.has(name)) {
    r.raw(name);
    return undefined;
  }
  const v = r.string(name);
  if (Buffer.byteLength(v, 'utf8') > maxOctets || CONTROL.test(v)) throw new ConfigError(r.key(name), `must be 1..${maxOctets} octets without control characters`);
  return v;
}
