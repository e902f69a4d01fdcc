/**
 * The connection caps of the server's HTTP listeners as gangway.yaml sets them: the monitoring
 * listener (`health`) and the portal, each refusal counted in gangway_http_connections_refused_total.
 */
import { get } from 'node:http';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { showPerAddressCap, showTotalCap, type CapTarget } from '../helpers/connection-caps.js';
import { parseExposition, value } from '../helpers/prometheus-text.js';

describe('gangway.yaml connection caps: health and portal listeners', () => {
  let g: TestGangway;
  let health: CapTarget;
  let portal: CapTarget;
  beforeAll(async () => {
    g = await startTestGangway({
      configure: (doc) => {
        doc.health = { listen: '127.0.0.1:0', maxConnections: 5, maxConnectionsPerAddress: 3 };
        doc.portal = { ...(doc.portal as Record<string, unknown>), maxConnectionsPerAddress: 4 };
      },
    });
    health = { url: `http://127.0.0.1:${g.running.health!.port}`, path: '/healthz', status: 200 };
    portal = { url: `https://127.0.0.1:${g.running.portal!.port}`, path: '/login', status: 200 };
  });
  afterAll(() => g.close());

  /** From an address of its own on a connection of its own, so that scraping takes no place the tests count on. */
  async function refused(listener: string, limit: string): Promise<number> {
    const text = await new Promise<string>((resolve, reject) => {
      get(`${health.url}/metrics`, { localAddress: '127.0.0.9', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    return value(parseExposition(text), 'gangway_http_connections_refused_total', { listener, limit });
  }

  test('health, per address: 127.0.0.1 holding 3, its next connection is closed unanswered, 127.0.0.2 gets /healthz; counted', async () => {
    const before = await refused('health', 'address');
    await showPerAddressCap(health, 3);
    expect(await refused('health', 'address')).toBeGreaterThanOrEqual(before + 2);
    expect(g.log.lines.filter((l) => l.level === 'warn' && l.msg?.startsWith('health: connection refused'))).toHaveLength(1);
  });

  test('health, in total: 5 open from two addresses, a third is refused, and served once one closes; counted', async () => {
    const before = await refused('health', 'total');
    await showTotalCap(health, { total: 5, perAddress: 3 });
    expect(await refused('health', 'total')).toBeGreaterThanOrEqual(before + 2);
  });

  test('portal, per address (the total stays at its default): 127.0.0.1 holding 4 is refused its next; 127.0.0.2 gets the login page; counted', async () => {
    const before = await refused('portal', 'address');
    await showPerAddressCap(portal, 4);
    expect(await refused('portal', 'address')).toBeGreaterThanOrEqual(before + 2);
    expect(await refused('portal', 'total')).toBe(0);
  });
});
