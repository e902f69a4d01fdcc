/**
 * `gangway bench --peers N` (src/bench/noob-population.ts): the stored devices are what a completed
 * registration leaves, so that Reconnect is measured against tables of the real shape, including
 * the consumed-OOB row every Reconnect's read and write touch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { populateNoobPeers } from '../../src/bench/noob-population.js';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../../src/store/sqlite/noob-peers.js';

test('N registered devices, each with its association and the OOB message its Completion consumed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-population-'));
  try {
    const file = join(dir, 'noob.db');
    await populateNoobPeers(file, 5200);
    const db = openSqlite(file);
    try {
      const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
      expect(count('SELECT count(*) AS n FROM noob_peers WHERE state = 4 AND account_bound = 1')).toBe(5200);
      expect(count('SELECT count(*) AS n FROM noob_consumed_oobs')).toBe(5200);
      expect(count('SELECT count(DISTINCT peer_id) AS n FROM noob_consumed_oobs')).toBe(5200);
      const peerId = (db.prepare('SELECT peer_id FROM noob_peers ORDER BY random() LIMIT 1').get() as { peer_id: string }).peer_id;
      const record = await new SqliteNoobPeerStore(db).get(peerId);
      expect(record).toMatchObject({ state: 4, accountBound: true, oobs: [] });
      expect(record!.association!.kz).toHaveLength(32);
      expect(record!.consumedOobs).toHaveLength(1);
      expect(record!.consumedOobs[0]!.hoob).toMatch(/^[A-Za-z0-9_-]{22}$/);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
