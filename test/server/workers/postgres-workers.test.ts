/**
 * Two worker threads on a PostgreSQL store: each worker has its own pool, and an EAP-NOOB device
 * whose Initial, Completion and Reconnect Exchanges come from three stations (so that consecutive
 * new conversations alternate between the workers) carries on from one worker to the other through
 * the database; the OOB code is delivered by the main thread's store, as the portal would.
 */
import { deliverOobFromUrl } from '../../../src/noob/oob.js';
import { startTestGangway, type TestGangway } from '../../helpers/gangway.js';
import { NoobDevice } from '../../helpers/noob-device.js';
import { dropSchema, freshName, requirePostgres } from '../../helpers/postgres.js';
import { parseExposition, value } from '../../helpers/prometheus-text.js';

const server = requirePostgres();
const PASSWORD_ENV = 'GANGWAY_TEST_WORKERS_PG_PASSWORD';

(server ? describe : describe.skip)('two worker threads on PostgreSQL', () => {
  let g: TestGangway;
  const schema = freshName();

  beforeAll(async () => {
    if (server!.password !== undefined) process.env[PASSWORD_ENV] = server!.password;
    g = await startTestGangway({
      workers: 2,
      configure: (doc) => {
        doc.store = { kind: 'postgres', url: server!.url, schema, ...(server!.password !== undefined ? { passwordEnv: PASSWORD_ENV } : {}) };
        doc.health = { listen: '127.0.0.1:0' };
      },
    });
  });
  afterAll(async () => {
    await g?.close();
    await dropSchema(server!, schema);
  });

  test('EAP-NOOB Initial, Completion and Reconnect alternate workers and succeed through the shared database', async () => {
    await g.running.stores.users.add({ name: 'alice' });
    const { host, port } = g.running.health!;
    const before = parseExposition(await (await fetch(`http://${host}:${port}/metrics`)).text());
    const device = new NoobDevice({ name: 'pg-workers-device', host: '127.0.0.1', port: g.port, secret: g.secret, callingStationId: '02-00-5e-00-54-01' });
    expect((await device.connect()).state.state).toBe(1);
    const oob = (await device.shownOob())!;
    expect((await deliverOobFromUrl(g.running.stores.noobPeers, oob.url, 'alice', { audit: g.running.stores.audit })).ok).toBe(true);
    expect(await device.connect({ callingStationId: '02-00-5e-00-54-02' })).toMatchObject({ exchange: 'completion', result: 'success' });
    expect(await device.connect({ callingStationId: '02-00-5e-00-54-03' })).toMatchObject({ exchange: 'reconnect', result: 'success' });
    // Each worker's log lines carry its index: the decisions were made by both.
    const deciders = g.log.lines.filter((l) => l.msg === 'Access-Accept' || l.msg === 'Access-Reject').map((l) => (l.obj as { worker?: number }).worker);
    expect(new Set(deciders)).toEqual(new Set([0, 1]));
    const peerId = (await device.state()).association!.peerId;
    expect(await g.running.stores.noobPeers.get(peerId)).toMatchObject({ state: 4, account: 'alice', accountBound: true });
    const after = parseExposition(await (await fetch(`http://${host}:${port}/metrics`)).text());
    expect(value(after, 'gangway_eap_methods_started_total', { method: 'eap-noob' }) - value(before, 'gangway_eap_methods_started_total', { method: 'eap-noob' })).toBe(3);
    expect(value(after, 'gangway_store_up')).toBe(1);
    // Both workers read NOOB peers from their own pools.
    expect(value(after, 'gangway_store_operation_duration_seconds_count', { store: 'noob-peers', operation: 'get' })).toBeGreaterThanOrEqual(2);
  });
});
