import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { openSqliteStores } from '../../src/store/sqlite/stores.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';

/**
 * `audit.retentionDays` and `accounting.retentionDays` on a running server: rows older than it go at
 * the start (and every hour after), newer ones stay; a reload that sets the audit's to 0 keeps
 * everything from then on.
 */

const DAY = 86_400_000;
let g: TestGangway | undefined;
afterEach(async () => {
  await g?.close();
  g = undefined;
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('entries past audit.retentionDays are removed at the start and logged; newer ones stay; a reload to 0 keeps the rest', async () => {
  g = await startTestGangway({
    prepare: async (init) => {
      const stores = openSqliteStores(join(init.dataDir, 'gangway.db'));
      try {
        const now = Date.now();
        stores.audit.append({ at: new Date(now - 40 * DAY), event: 'test.forty-days-old' });
        stores.audit.append({ at: new Date(now - 31 * DAY), event: 'test.thirty-one-days-old' });
        stores.audit.append({ at: new Date(now - 10 * DAY), event: 'test.ten-days-old' });
      } finally {
        await stores.close();
      }
    },
    configure: (doc) => {
      doc.audit = { retentionDays: 30 };
    },
  });
  const events = async (): Promise<string[]> => (await g!.running.stores.audit.recent(100)).map((e) => e.event).filter((e) => e.startsWith('test.'));
  await until(async () => (await events()).length === 1, 'the purge at the start');
  expect(await events()).toEqual(['test.ten-days-old']);
  await until(async () => g!.log.lines.some((l) => l.msg === 'audit: entries past their retention removed'), 'its log line');
  expect(g.log.lines.find((l) => l.msg === 'audit: entries past their retention removed')?.obj).toMatchObject({ removed: 2, retentionDays: 30 });

  // Retention off by a reload: an entry older than the old setting stays.
  const config = loadConfig(g.init.dataDir);
  expect((parse(readFileSync(g.init.config, 'utf8')) as { audit: unknown }).audit).toEqual({ retentionDays: 30 });
  await g.running.reload({ ...config, audit: { retentionDays: 0 } });
  g.running.stores.audit.append({ at: new Date(Date.now() - 400 * DAY), event: 'test.a-year-old' });
  await new Promise((r) => setTimeout(r, 300));
  expect(await events()).toEqual(['test.a-year-old', 'test.ten-days-old']);
});

// FAILS at f016250: the accounting purge first ran an hour after the start, and kept open sessions for ever.
test('accounting sessions last heard of before accounting.retentionDays are removed at the start, open ones whose Stop never came too', async () => {
  const now = Date.now();
  const record = (sessionId: string, event: 'start' | 'interim' | 'stop', daysAgo: number) => ({
    event, at: new Date(now - daysAgo * DAY), nas: 'ap-1', sessionId, clientName: 'localhost', userName: 'alice',
  });
  g = await startTestGangway({
    prepare: async (init) => {
      const stores = openSqliteStores(join(init.dataDir, 'gangway.db'));
      try {
        await stores.accounting.apply(record('ended-long-ago', 'start', 50));
        await stores.accounting.apply(record('ended-long-ago', 'stop', 40));
        await stores.accounting.apply(record('silent-since', 'start', 45));
        await stores.accounting.apply(record('still-talking', 'start', 45));
        await stores.accounting.apply(record('still-talking', 'interim', 1));
        await stores.accounting.apply(record('ended-lately', 'start', 12));
        await stores.accounting.apply(record('ended-lately', 'stop', 10));
      } finally {
        await stores.close();
      }
    },
    configure: (doc) => {
      doc.accounting = { ...(doc.accounting as object), retentionDays: 30 };
    },
  });
  const sessions = async (): Promise<string[]> => (await g!.running.stores.accounting.list({ limit: 10 })).map((s) => s.sessionId).sort();
  await until(async () => (await sessions()).length === 2, 'the purge at the start');
  expect(await sessions()).toEqual(['ended-lately', 'still-talking']);
  await until(async () => g!.log.lines.some((l) => (l.msg ?? '').startsWith('accounting: sessions')), 'its log line');
  expect(g.log.lines.find((l) => (l.msg ?? '').startsWith('accounting: sessions'))?.obj).toMatchObject({ removed: 2, retentionDays: 30 });
});
