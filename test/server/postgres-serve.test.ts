/**
 * One server on a PostgreSQL store, in this process: gangway.yaml's `store: { kind: postgres }`
 * reaches every part that keeps data (EAP-NOOB, the portal's accounts, the audit trail), and
 * GET /healthz and /metrics report the PostgreSQL store's health as they do SQLite's.
 */
import { deliverOobFromUrl } from '../../src/noob/oob.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { NoobDevice } from '../helpers/noob-device.js';
import { dropSchema, freshName, requirePostgres } from '../helpers/postgres.js';
import { parseExposition, value } from '../helpers/prometheus-text.js';
import type { PostgresStores } from '../../src/store/postgres/stores.js';

const server = requirePostgres();
const PASSWORD_ENV = 'GANGWAY_TEST_SERVE_PG_PASSWORD';

(server ? describe : describe.skip)('gangway on a PostgreSQL store', () => {
  let g: TestGangway;
  const schema = freshName();

  beforeAll(async () => {
    if (server!.password !== undefined) process.env[PASSWORD_ENV] = server!.password;
    g = await startTestGangway({
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

  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const { host, port } = g.running.health!;
    const r = await fetch(`http://${host}:${port}${path}`);
    return { status: r.status, body: await r.text() };
  };

  test('the store is PostgreSQL, named without secrets in the start-up log', () => {
    expect(g.running.stores.kind).toBe('postgres');
    const line = g.log.lines.find((l) => l.msg === 'store open');
    expect((line?.obj as { store?: string }).store).toBe(g.running.stores.description);
    expect(g.running.stores.description).toMatch(new RegExp(`^postgres://.*\\(schema ${schema}\\)$`));
  });

  test('EAP-NOOB: Initial, OOB delivered to an account, Completion, Reconnect; the audit trail has it all', async () => {
    await g.running.stores.users.add({ name: 'alice' });
    const device = new NoobDevice({ name: 'pg-device', host: '127.0.0.1', port: g.port, secret: g.secret, callingStationId: '02-00-5e-00-53-99' });
    expect((await device.connect()).state.state).toBe(1);
    const oob = (await device.shownOob())!;
    const delivered = await deliverOobFromUrl(g.running.stores.noobPeers, oob.url, 'alice', { audit: g.running.stores.audit });
    expect(delivered.ok).toBe(true);
    expect(await device.connect()).toMatchObject({ exchange: 'completion', result: 'success' });
    expect(await device.connect()).toMatchObject({ exchange: 'reconnect', result: 'success' });
    const peerId = (await device.state()).association!.peerId;
    expect(await g.running.stores.noobPeers.get(peerId)).toMatchObject({ state: 4, account: 'alice', accountBound: true });
    const events = (await g.running.stores.audit.recent(50)).map((e) => e.event);
    expect(events).toContain('noob.oob.delivered');
  });

  test('/healthz and /metrics follow the store: serving, then store-failing while its tables cannot be read, then serving again', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect(value(parseExposition((await get('/metrics')).body), 'gangway_store_up')).toBe(1);
    const db = (g.running.stores as PostgresStores).db;
    await db.query('ALTER TABLE schema_migrations RENAME TO schema_migrations_away');
    try {
      const r = await get('/healthz');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ status: 'store-failing', store: { ok: false } });
      expect(value(parseExposition((await get('/metrics')).body), 'gangway_store_up')).toBe(0);
    } finally {
      await db.query('ALTER TABLE schema_migrations_away RENAME TO schema_migrations');
    }
    expect((await get('/healthz')).status).toBe(200);
  });
});
