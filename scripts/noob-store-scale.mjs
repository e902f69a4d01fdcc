#!/usr/bin/env node
// The store's share of an EAP-NOOB Reconnect against the number of registered devices (issue 12:
// "with 1,000,000 registered peers in SQLite the Reconnect cost within 20 % of that with 10,000").
// A Reconnect reads its device's record once, probes its version three times and writes it once
// (src/noob/method.ts; docs/benchmarks.md, "Where NOOB Reconnect's server CPU goes"). This runs
// exactly those store calls, in-process, for devices drawn at random once from the whole
// population, where `gangway bench` reconnects the same few devices. The database has just been
// written and sits in the operating system's page cache: a cold cache is not measured.
//
//   npm run build && node scripts/noob-store-scale.mjs [SIZES] [RECONNECTS] [ROUNDS]
//
// SIZES is a comma-separated list of populations (default 10000,1000000); each is written once
// into a temporary database (populateNoobPeers, as `gangway bench --peers` does), then the rounds
// alternate between the sizes so that a change in the machine's speed falls on all of them alike.
// Prints CPU µs per Reconnect's store calls, each round and the median.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { populateNoobPeers } = await import(join(root, 'dist/bench/noob-population.js'));
const { openSqlite } = await import(join(root, 'dist/store/sqlite/database.js'));
const { SqliteNoobPeerStore } = await import(join(root, 'dist/store/sqlite/noob-peers.js'));

const sizes = (process.argv[2] ?? '10000,1000000').split(',').map(Number);
const reconnects = Number(process.argv[3] ?? 20000);
const rounds = Number(process.argv[4] ?? 5);
if (sizes.some((n) => !Number.isInteger(n) || n < 1000) || !Number.isInteger(reconnects) || reconnects < 1000 || !Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: node scripts/noob-store-scale.mjs [SIZES ≥ 1000, comma-separated] [RECONNECTS ≥ 1000] [ROUNDS ≥ 1]');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'gangway-noob-scale-'));
const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
try {
  const populations = [];
  for (const size of sizes) {
    const file = join(dir, `noob-${size}.db`);
    const began = Date.now();
    await populateNoobPeers(file, size);
    const db = openSqlite(file);
    // Every device is equally likely to reconnect next.
    const ids = db.prepare('SELECT peer_id FROM noob_peers ORDER BY random() LIMIT ?').pluck().all(reconnects);
    populations.push({ size, db, store: new SqliteNoobPeerStore(db), ids, results: [] });
    console.error(`${size} devices stored in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  }
  const reconnect = async (store, peerId) => {
    const record = await store.get(peerId);
    for (let i = 0; i < 3; i++) await store.version(peerId);
    const { version, ...rest } = record;
    const now = new Date();
    const next = { ...rest, updatedAt: now, lastAuthenticatedAt: now, association: { ...rest.association, kz: new Uint8Array(randomBytes(32)) } };
    if (!(await store.transition(peerId, version, next))) throw new Error(`the write of ${peerId} lost its version`);
  };
  // Unmeasured: JIT and the statements' first runs.
  for (const p of populations) for (const id of p.ids.slice(0, 2000)) await reconnect(p.store, id);
  for (let round = 0; round < rounds; round++) {
    for (const p of populations) {
      const before = cpuMicros();
      for (const id of p.ids) await reconnect(p.store, id);
      p.results.push((cpuMicros() - before) / p.ids.length);
    }
  }
  const median = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const base = median(populations[0].results);
  for (const p of populations) {
    const m = median(p.results);
    console.log(`${String(p.size).padStart(9)} devices: ${p.results.map((r) => r.toFixed(1)).join(' / ')} µs per Reconnect's store calls; median ${m.toFixed(1)} (×${(m / base).toFixed(2)})`);
  }
  for (const p of populations) p.db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
