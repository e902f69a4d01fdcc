import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/config.js';

const minimal = { radius: { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] } };

describe('gangway.yaml tls.engine', () => {
  test('unset by default: the server picks the native engine when it loaded', () => {
    expect(parseConfig(minimal, '/data').tls.engine).toBeUndefined();
  });

  test.each(['openssl', 'node'] as const)('%s is accepted', (engine) => {
    expect(parseConfig({ ...minimal, tls: { engine } }, '/data').tls.engine).toBe(engine);
  });

  test('another value is refused naming the key', () => {
    let caught: unknown;
    try {
      parseConfig({ ...minimal, tls: { engine: 'boringssl' } }, '/data');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).key).toBe('tls.engine');
    expect((caught as ConfigError).why).toContain('one of openssl, node');
  });
});
