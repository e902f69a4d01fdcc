import { ConfigError } from '../../src/config/config-error.js';
import { DEFAULT_WARMUP, parseConfig } from '../../src/config/config.js';
import { resolveWorkers } from '../../src/config/workers.js';

const minimal = { radius: { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] } };

function errorOf(doc: unknown): ConfigError {
  try {
    parseConfig(doc, '/data');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('gangway.yaml validation', () => {
  test('a minimal file gets the documented defaults', () => {
    const c = parseConfig(minimal, '/data');
    expect(c.listen).toEqual([{ host: '127.0.0.1', port: 1812 }]);
    expect(c.radius.clients[0]).toMatchObject({ requireMessageAuthenticator: true, limitProxyState: true });
    expect(c.eap).toMatchObject({ packetSize: 1020, maxSessions: 16384, idleTimeoutMs: 60000, maxRounds: 50, defaultMethods: ['eap-tls'] });
    expect(c.tls).toMatchObject({ cert: '/data/pki/server.pem', ca: ['/data/pki/ca.pem'], minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    expect(c.store).toEqual({ kind: 'sqlite', path: '/data/gangway.db' });
    expect(c.workers).toBe(1);
    expect(c.warmup).toBe(DEFAULT_WARMUP);
  });

  test('server.workers: a count or auto (one per core)', () => {
    expect(parseConfig({ ...minimal, server: { workers: 4 } }, '/data').workers).toBe(4);
    expect(parseConfig({ ...minimal, server: { workers: 'auto' } }, '/data').workers).toBe('auto');
    expect(resolveWorkers('auto', () => 6)).toBe(6);
    expect(resolveWorkers(3, () => 6)).toBe(3);
  });

  test('audit.retentionDays: 0 (the default) keeps every entry; 1 … 36500 days; anything else is refused by name', () => {
    expect(parseConfig(minimal, '/data').audit).toEqual({ retentionDays: 0 });
    expect(parseConfig({ ...minimal, audit: { retentionDays: 365 } }, '/data').audit).toEqual({ retentionDays: 365 });
    expect(errorOf({ ...minimal, audit: { retentionDays: -1 } }).message).toMatch(/audit\.retentionDays/);
    expect(errorOf({ ...minimal, audit: { retentionDays: 36501 } }).message).toMatch(/audit\.retentionDays/);
    expect(errorOf({ ...minimal, audit: { retentionDays: 'a year' } }).message).toMatch(/audit\.retentionDays/);
    expect(errorOf({ ...minimal, audit: { keepDays: 30 } }).message).toMatch(/audit\.keepDays/);
  });

  test('server.warmup: authentications per method before the start, 0 for none', () => {
    expect(parseConfig({ ...minimal, server: { warmup: 0 } }, '/data').warmup).toBe(0);
    expect(parseConfig({ ...minimal, server: { warmup: 10_000 } }, '/data').warmup).toBe(10_000);
  });

  test.each([
    [{}, 'radius.clients', 'at least one'],
    [{ ...minimal, bogus: 1 }, 'bogus', 'not a known setting'],
    [{ radius: { clients: [{ name: 'ap', address: '10.0.0.1/8', secret: 'long-enough-secret' }] } }, 'radius.clients[0].address', 'host bits'],
    [{ radius: { clients: [{ name: 'ap', address: 'example.com', secret: 'long-enough-secret' }] } }, 'radius.clients[0].address', 'IPv4/IPv6'],
    [{ radius: { clients: [{ name: 'ap', address: '::1', secret: 'short' }] } }, 'radius.clients[0].secret', 'at least 16'],
    [{ radius: { clients: [{ name: 'ap', address: '::1', secret: 'fifteen-chars-x' }] } }, 'radius.clients[0].secret', 'allowShortSecret'],
    [{ radius: { clients: [{ name: 'ap', address: '::1', secret: 'testing123', allowShortSecret: 'yes' }] } }, 'radius.clients[0].allowShortSecret', 'true or false'],
    [{ radius: { clients: [{ name: 'ap', address: '::1', secret: 'long-enough-secret', requireMessageAuthenticator: 'no' }] } }, 'radius.clients[0].requireMessageAuthenticator', 'true or false'],
    [{ ...minimal, server: { listen: ['nowhere'] } }, 'server.listen[0]', 'HOST:PORT'],
    [{ ...minimal, eap: { packetSize: 10 } }, 'eap.packetSize', 'between'],
    [{ ...minimal, server: { workers: 0 } }, 'server.workers', 'auto or a whole number'],
    [{ ...minimal, server: { workers: 'many' } }, 'server.workers', 'auto or a whole number'],
    [{ ...minimal, server: { warmup: -1 } }, 'server.warmup', 'between 0 and 10000'],
    [{ ...minimal, server: { warmup: 10_001 } }, 'server.warmup', 'between 0 and 10000'],
    [{ ...minimal, server: { warmup: 2.5 } }, 'server.warmup', 'integer'],
    [{ ...minimal, server: { warmup: '100' } }, 'server.warmup', 'integer'],
    [{ ...minimal, eap: { rules: [{ realm: 'x', methods: [] }] } }, 'eap.rules[0].methods', 'at least one'],
    [{ ...minimal, eap: { rules: [{ identity: '(', methods: ['eap-tls'] }] } }, 'eap.rules[0].identity', 'regular expression'],
    [{ ...minimal, tls: { minVersion: 'TLSv1.0' } }, 'tls.minVersion', 'one of'],
    [{ ...minimal, tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' } }, 'tls.minVersion', 'above maxVersion'],
    [{ ...minimal, authorization: { vlan: 5000 } }, 'authorization.vlan', 'between'],
    [{ ...minimal, log: { level: 'loud' } }, 'log.level', 'one of'],
  ])('%j is refused naming %s', (doc, key, why) => {
    const err = errorOf(doc);
    expect(err.key).toBe(key);
    expect(err.why).toContain(why);
    expect(err.message).toContain(key);
  });

  test('store: SQLite by default, PostgreSQL when asked, with the password from a file or the environment', () => {
    expect(parseConfig({ ...minimal, store: { sqlite: 'other.db' } }, '/d').store).toEqual({ kind: 'sqlite', path: '/d/other.db' });
    expect(parseConfig({ ...minimal, store: { kind: 'sqlite' } }, '/d').store).toEqual({ kind: 'sqlite', path: '/d/gangway.db' });
    expect(parseConfig({ ...minimal, store: { kind: 'postgres', url: 'postgres://gangway@db.example.org/gangway' } }, '/d').store)
      .toEqual({ kind: 'postgres', url: 'postgres://gangway@db.example.org/gangway', schema: 'public', poolSize: 10 });
    expect(parseConfig({ ...minimal, store: { kind: 'postgres', url: 'postgresql://g@db:5433/g?sslmode=verify-full', passwordFile: 'pg-password', schema: 'gw_1', poolSize: 3 } }, '/d').store)
      .toEqual({ kind: 'postgres', url: 'postgresql://g@db:5433/g?sslmode=verify-full', password: { file: '/d/pg-password' }, schema: 'gw_1', poolSize: 3 });
    expect(parseConfig({ ...minimal, store: { kind: 'postgres', url: 'postgres://g@db/g', passwordEnv: 'GANGWAY_PG_PASSWORD' } }, '/d').store)
      .toMatchObject({ password: { env: 'GANGWAY_PG_PASSWORD' } });
  });

  test.each([
    [{ kind: 'mysql' }, 'store.kind', 'one of sqlite, postgres'],
    [{ kind: 'postgres' }, 'store.url', 'required'],
    [{ kind: 'postgres', url: 'not a url' }, 'store.url', 'URL like'],
    [{ kind: 'postgres', url: 'mysql://db/x' }, 'store.url', 'postgres://'],
    [{ kind: 'postgres', url: 'postgres://gangway:hunter2@db/gangway' }, 'store.url', 'must not contain the password'],
    [{ kind: 'postgres', url: 'postgres://gangway@db/gangway?password=hunter2' }, 'store.url', 'must not contain the password'],
    [{ kind: 'postgres', url: 'postgres://g@db/g?options=-c%20search_path%3Dx' }, 'store.url', 'search_path'],
    [{ kind: 'postgres', url: 'postgres://g@db/g', passwordFile: 'a', passwordEnv: 'B' }, 'store.passwordEnv', 'not both'],
    [{ kind: 'postgres', url: 'postgres://g@db/g', passwordEnv: 'not a name' }, 'store.passwordEnv', 'environment variable'],
    [{ kind: 'postgres', url: 'postgres://g@db/g', schema: 'Robert"); DROP' }, 'store.schema', 'lowercase'],
    [{ kind: 'postgres', url: 'postgres://g@db/g', poolSize: 0 }, 'store.poolSize', 'between'],
    [{ kind: 'postgres', url: 'postgres://g@db/g', sqlite: 'x.db' }, 'store.sqlite', 'does not go with kind: postgres'],
    [{ url: 'postgres://g@db/g' }, 'store.url', 'needs kind: postgres'],
    [{ kind: 'postgres', url: 'postgres://g@db/g', pool: 3 }, 'store.pool', 'not a known setting'],
  ])('store %j is refused naming %s', (store, key, why) => {
    const err = errorOf({ ...minimal, store });
    expect(err.key).toBe(key);
    expect(err.why).toContain(why);
    expect(err.message).not.toContain('hunter2');
  });

  test('a shared secret shorter than 16 characters is accepted only with allowShortSecret on that client', () => {
    const c = parseConfig({ radius: { clients: [{ name: 'legacy', address: '10.0.0.9', secret: 'testing123', allowShortSecret: true }] } }, '/d');
    expect(c.radius.clients[0]!.secret).toBe('testing123');
    expect(() => parseConfig({ radius: { clients: [
      { name: 'legacy', address: '10.0.0.9', secret: 'testing123', allowShortSecret: true },
      { name: 'other', address: '10.0.0.10', secret: 'testing123' },
    ] } }, '/d')).toThrow('radius.clients[1].secret');
  });

  test('passwordLockout: defaults, overrides, and keys named in errors', () => {
    expect(parseConfig(minimal, '/d').passwordLockout).toEqual({
      account: { maxFailures: 10, windowMs: 600_000, lockoutMs: 600_000 },
      nas: { maxFailures: 100, windowMs: 60_000, lockoutMs: 60_000 },
      maxTracked: 10_000,
    });
    expect(parseConfig({ ...minimal, passwordLockout: { account: { maxFailures: 3, lockoutSeconds: 30 } } }, '/d').passwordLockout.account)
      .toEqual({ maxFailures: 3, windowMs: 600_000, lockoutMs: 30_000 });
    expect(errorOf({ ...minimal, passwordLockout: { nas: { maxFailures: 0 } } }).key).toBe('passwordLockout.nas.maxFailures');
    expect(errorOf({ ...minimal, passwordLockout: { acount: {} } }).key).toBe('passwordLockout.acount');
  });

  test('IPv6 listen addresses are accepted in brackets', () => {
    expect(parseConfig({ ...minimal, server: { listen: ['[::1]:1812', '127.0.0.1:0'] } }, '/d').listen).toEqual([
      { host: '::1', port: 1812 },
      { host: '127.0.0.1', port: 0 },
    ]);
  });
});
