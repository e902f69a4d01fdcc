import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/config.js';
import { ConfigReader } from '../../src/config/reader.js';
import { decideAuthorization, type AuthorizationFacts, type AuthorizationPolicy } from '../../src/policy/authorization-policy.js';
import { checkAuthorizationNames, parseAuthorizationConfig } from '../../src/policy/config.js';
import { normaliseMudUrl } from '../../src/policy/mud-url.js';

const policyOf = (doc: unknown): AuthorizationPolicy => parseAuthorizationConfig(ConfigReader.root(doc, 'authorization'));

function errorOf(doc: unknown): ConfigError {
  try {
    policyOf(doc);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** Every layer sets something different, so each decision shows which layer won. */
const FULL = policyOf({
  default: { vlan: 1, sessionTimeout: 3600, filterId: 'default-acl', class: 'default' },
  methods: { 'eap-noob': { vlan: 2, sessionTimeout: 7200 }, 'eap-tls': { vlan: 3 }, teap: { filterId: 'teap-acl' } },
  devices: {
    user: { vlan: 10 },
    noob: { vlan: 40, class: 'iot' },
    brski: { vlan: 30, manufacturers: { acme: { vlan: 31, filterId: 'acme-acl' } } },
  },
  users: { alice: { vlan: 20 }, bob: { sessionTimeout: 600 } },
  mud: [
    { url: 'https://mud.acme.example/thermostat/*', vlan: 50, filterId: 'thermostat-acl' },
    { url: 'https://mud.acme.example/*', vlan: 51 },
  ],
  mudPeerInfoMember: 'MUDURL',
});

const decide = (facts: AuthorizationFacts) => decideAuthorization(FULL, facts);
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : undefined);

describe('credential policy: precedence, most specific layer wins per attribute', () => {
  test('a password user: devices.user over methods over default; users.NAME over devices.user', () => {
    const carol = decide({ method: 'eap-mschapv2', deviceClass: 'user', account: 'carol' });
    expect(carol).toMatchObject({ vlan: 10, sessionTimeout: 3600, filterId: 'default-acl' });
    expect(carol.sources).toEqual({ vlan: 'devices.user', sessionTimeout: 'default', filterId: 'default', class: 'default' });
    const alice = decide({ method: 'teap', deviceClass: 'user', account: 'alice' });
    expect(alice).toMatchObject({ vlan: 20, filterId: 'teap-acl' });
    expect(alice.sources).toMatchObject({ vlan: 'users.alice', filterId: 'methods.teap' });
  });

  test('layers combine: bob keeps the class VLAN and gets his own Session-Timeout', () => {
    expect(decide({ method: 'eap-tls', deviceClass: 'user', account: 'bob' })).toMatchObject({ vlan: 10, sessionTimeout: 600, sources: { vlan: 'devices.user', sessionTimeout: 'users.bob' } });
  });

  test('noob: the owner\'s policy applies over the device class; an unowned device gets the class', () => {
    const owned = decide({ method: 'eap-noob', deviceClass: 'noob', account: 'alice' });
    expect(owned).toMatchObject({ vlan: 20, sessionTimeout: 7200, sources: { vlan: 'users.alice', sessionTimeout: 'methods.eap-noob', class: 'devices.noob' } });
    expect(text(owned.class)).toBe('iot');
    expect(decide({ method: 'eap-noob', deviceClass: 'noob' })).toMatchObject({ vlan: 40, sources: { vlan: 'devices.noob' } });
  });

  test('the portal VLAN of an account overrides users.NAME.vlan and only the VLAN', () => {
    const d = decide({ method: 'eap-noob', deviceClass: 'noob', account: 'bob', accountVlan: 77 });
    expect(d).toMatchObject({ vlan: 77, sessionTimeout: 600, sources: { vlan: 'portal:bob', sessionTimeout: 'users.bob' } });
    // Without an account there is no portal VLAN to apply.
    expect(decide({ method: 'eap-noob', deviceClass: 'noob', accountVlan: 77 }).vlan).toBe(40);
  });

  test('brski: the manufacturer\'s rule over the class over the method; users.* never applies without an account', () => {
    expect(decide({ method: 'eap-tls', deviceClass: 'brski', manufacturer: 'acme' })).toMatchObject({ vlan: 31, filterId: 'acme-acl', sources: { vlan: 'devices.brski.manufacturers.acme' } });
    expect(decide({ method: 'teap', deviceClass: 'brski', manufacturer: 'globex' })).toMatchObject({ vlan: 30, filterId: 'teap-acl', sources: { vlan: 'devices.brski', filterId: 'methods.teap' } });
  });

  test('a MUD rule outranks the owner; the first matching rule applies; no match leaves the rest', () => {
    const thermostat = normaliseMudUrl('https://mud.acme.example/thermostat/t1.json')!;
    expect(decide({ method: 'eap-noob', deviceClass: 'noob', account: 'alice', accountVlan: 77, mudUrl: thermostat })).toMatchObject({
      vlan: 50, filterId: 'thermostat-acl', sources: { vlan: 'mud[0]', filterId: 'mud[0]' },
    });
    expect(decide({ method: 'eap-tls', deviceClass: 'brski', manufacturer: 'acme', mudUrl: normaliseMudUrl('https://mud.acme.example/lamp.json')! })).toMatchObject({
      vlan: 51, filterId: 'acme-acl', sources: { vlan: 'mud[1]' },
    });
    expect(decide({ method: 'eap-tls', deviceClass: 'user', account: 'alice', mudUrl: normaliseMudUrl('https://mud.other.example/x.json')! }).vlan).toBe(20);
  });

  test('what the method granted by itself wins over configuration', () => {
    const d = decide({ method: 'plugin', deviceClass: 'user', account: 'alice', granted: { vlan: 99, class: Uint8Array.of(1, 2) } });
    expect(d).toMatchObject({ vlan: 99, sources: { vlan: 'method', class: 'method' } });
    expect(d.class).toEqual(Uint8Array.of(1, 2));
  });

  test('an empty policy decides nothing', () => {
    expect(decideAuthorization(policyOf(undefined), { method: 'eap-tls', deviceClass: 'user', account: 'alice' })).toEqual({ sources: {} });
  });
});

describe('the authorization section of gangway.yaml', () => {
  test('the older top-level vlan and sessionTimeout still work, as the default layer', () => {
    const p = parseConfig({ radius: { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] }, authorization: { vlan: 100, sessionTimeout: 3600 } }, '/data').authorization;
    expect(p.default).toEqual({ vlan: 100, sessionTimeout: 3600 });
    expect(decideAuthorization(p, { method: 'eap-tls', deviceClass: 'user', account: 'x' })).toMatchObject({ vlan: 100, sessionTimeout: 3600 });
    // Older keys and the default section may split the attributes between them.
    expect(policyOf({ vlan: 5, default: { sessionTimeout: 60 } }).default).toEqual({ vlan: 5, sessionTimeout: 60 });
  });

  test('a VLAN may be a name (Tunnel-Private-Group-ID carries either)', () => {
    expect(policyOf({ users: { alice: { vlan: 'staff' } } }).users.get('alice')).toEqual({ vlan: 'staff' });
  });

  test('user names are map keys, never object properties', () => {
    const p = policyOf(JSON.parse('{"users": {"__proto__": {"vlan": 7}, "constructor": {"vlan": 8}}}'));
    expect(p.users.get('__proto__')).toEqual({ vlan: 7 });
    expect(p.users.get('constructor')).toEqual({ vlan: 8 });
    expect(p.users.get('toString')).toBeUndefined();
  });

  test.each([
    [{ vlan: 0 }, 'authorization.vlan', 'between 1 and 4094'],
    [{ vlan: 5, default: { vlan: 6 } }, 'authorization.vlan', 'also set as authorization.default.vlan'],
    [{ default: { vlan: 4095 } }, 'authorization.default.vlan', 'between 1 and 4094'],
    [{ default: { vlan: true } }, 'authorization.default.vlan', 'integer'],
    [{ default: { vlan: '' } }, 'authorization.default.vlan', 'VLAN name'],
    [{ default: { vlan: 'a\nb' } }, 'authorization.default.vlan', 'control'],
    [{ default: { sessionTimeout: 10 } }, 'authorization.default.sessionTimeout', 'between 60'],
    [{ default: { filterId: 'x'.repeat(254) } }, 'authorization.default.filterId', '253 octets'],
    [{ default: { class: 7 } }, 'authorization.default.class', 'non-empty string'],
    [{ default: { colour: 'red' } }, 'authorization.default.colour', 'not a known setting'],
    [{ methods: ['eap-tls'] }, 'authorization.methods', 'mapping'],
    [{ methods: { teap: { vlan: 'x'.repeat(253) } } }, 'authorization.methods.teap.vlan', '252 octets'],
    [{ devices: { laptop: { vlan: 2 } } }, 'authorization.devices.laptop', 'not a device class (known: user, noob, brski)'],
    [{ devices: { noob: { manufacturers: {} } } }, 'authorization.devices.noob.manufacturers', 'not a known setting'],
    [{ devices: { brski: { manufacturers: { acme: { vlan: -1 } } } } }, 'authorization.devices.brski.manufacturers.acme.vlan', 'between'],
    [{ users: { alice: { vlan: 20, colour: 1 } } }, 'authorization.users.alice.colour', 'not a known setting'],
    [{ users: { alice: 20 } }, 'authorization.users.alice', 'mapping'],
    [{ mud: { url: 'https://x.example/*' } }, 'authorization.mud', 'list'],
    [{ mud: [{ vlan: 3 }] }, 'authorization.mud[0].url', 'required'],
    [{ mud: [{ url: 'http://mud.acme.example/*', vlan: 3 }] }, 'authorization.mud[0].url', 'https'],
    [{ mud: [{ url: 'https://mud.acme.example/*' }] }, 'authorization.mud[0]', 'sets nothing'],
    [{ mud: [{ url: 'https://mud.acme.example/*', vlan: 3, extra: 1 }] }, 'authorization.mud[0].extra', 'not a known setting'],
    [{ mudPeerInfoMember: 'x'.repeat(65) }, 'authorization.mudPeerInfoMember', 'PeerInfo member'],
    [{ colour: 'red' }, 'authorization.colour', 'not a known setting'],
  ])('%j → %s', (doc, key, why) => {
    const e = errorOf(doc);
    expect(e.key).toBe(key);
    expect(e.why).toContain(why);
  });

  test('method and manufacturer names must exist in the running server', () => {
    const p = policyOf({ methods: { 'eap-tsl': { vlan: 2 } } });
    expect(() => checkAuthorizationNames(p, { methods: ['eap-tls', 'teap'], manufacturers: [] })).toThrow(
      expect.objectContaining({ key: 'authorization.methods.eap-tsl', why: expect.stringContaining('known: eap-tls, teap') }),
    );
    const m = policyOf({ devices: { brski: { manufacturers: { acmee: { vlan: 2 } } } } });
    expect(() => checkAuthorizationNames(m, { methods: [], manufacturers: ['acme'] })).toThrow(expect.objectContaining({ key: 'authorization.devices.brski.manufacturers.acmee' }));
    expect(() => checkAuthorizationNames(m, { methods: [], manufacturers: [] })).toThrow(/no brski section/);
    expect(() => checkAuthorizationNames(FULL, { methods: ['eap-noob', 'eap-tls', 'teap'], manufacturers: ['acme'] })).not.toThrow();
  });
});
