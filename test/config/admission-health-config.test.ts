import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/config.js';

const minimal = { radius: { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] } };

function keyOfError(doc: unknown): string {
  try {
    parseConfig(doc, '/data');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('gangway.yaml: session admission and health', () => {
  test('defaults: half the table per NAS, one conversation per station, protected after 10 rounds, no health endpoint', () => {
    const c = parseConfig(minimal, '/data');
    expect(c.eap).toMatchObject({ clientShare: 0.5, stationConversations: 1, protectAfterRounds: 10 });
    expect(c.health).toBeUndefined();
  });

  test('explicit values and a health listener', () => {
    const c = parseConfig({ ...minimal, eap: { clientShare: 1, stationConversations: 4, protectAfterRounds: 0 }, health: { listen: '127.0.0.1:9812' } }, '/data');
    expect(c.eap).toMatchObject({ clientShare: 1, stationConversations: 4, protectAfterRounds: 0 });
    expect(c.health).toEqual({ listen: { host: '127.0.0.1', port: 9812 }, connections: { total: 64, perAddress: 16 } });
  });

  test('connection caps: defaults for the monitoring listener and the portal, explicit values, a total below the default share', () => {
    const portal = { publicUrl: 'https://portal.example.org' };
    expect(parseConfig({ ...minimal, portal }, '/data').portal!.connections).toEqual({ total: 1024, perAddress: 64 });
    const c = parseConfig({ ...minimal, portal: { ...portal, maxConnections: 200, maxConnectionsPerAddress: 200 }, health: { listen: '127.0.0.1:9812', maxConnections: 8 } }, '/data');
    expect(c.portal!.connections).toEqual({ total: 200, perAddress: 200 });
    expect(c.health!.connections).toEqual({ total: 8, perAddress: 8 });
  });

  test('a plain-HTTP portal (behind a reverse proxy, every connection from it) shares no cap per address by default', () => {
    const portal = { publicUrl: 'https://portal.example.org', tls: false };
    expect(parseConfig({ ...minimal, portal }, '/data').portal!.connections).toEqual({ total: 1024, perAddress: 1024 });
    expect(parseConfig({ ...minimal, portal: { ...portal, maxConnections: 300 } }, '/data').portal!.connections).toEqual({ total: 300, perAddress: 300 });
    expect(parseConfig({ ...minimal, portal: { ...portal, maxConnectionsPerAddress: 20 } }, '/data').portal!.connections).toEqual({ total: 1024, perAddress: 20 });
  });

  test.each([
    [{ ...minimal, eap: { clientShare: 0 } }, 'eap.clientShare'],
    [{ ...minimal, eap: { clientShare: 1.5 } }, 'eap.clientShare'],
    [{ ...minimal, eap: { clientShare: '50%' } }, 'eap.clientShare'],
    [{ ...minimal, eap: { stationConversations: 0 } }, 'eap.stationConversations'],
    [{ ...minimal, eap: { protectAfterRounds: -1 } }, 'eap.protectAfterRounds'],
    [{ ...minimal, health: { listen: 'nowhere' } }, 'health.listen'],
    [{ ...minimal, health: {} }, 'health.listen'],
    [{ ...minimal, health: { listen: '127.0.0.1:9812', path: '/x' } }, 'health.path'],
    [{ ...minimal, health: { listen: '127.0.0.1:9812', maxConnections: 0 } }, 'health.maxConnections'],
    [{ ...minimal, health: { listen: '127.0.0.1:9812', maxConnectionsPerAddress: 17.5 } }, 'health.maxConnectionsPerAddress'],
    [{ ...minimal, health: { listen: '127.0.0.1:9812', maxConnections: 10, maxConnectionsPerAddress: 11 } }, 'health.maxConnectionsPerAddress'],
    [{ ...minimal, portal: { publicUrl: 'https://p.example', maxConnections: 70_000 } }, 'portal.maxConnections'],
    [{ ...minimal, portal: { publicUrl: 'https://p.example', maxConnectionsPerAddress: '64' } }, 'portal.maxConnectionsPerAddress'],
  ])('%j is refused naming %s', (doc, key) => {
    expect(keyOfError(doc)).toContain(key);
  });
});
