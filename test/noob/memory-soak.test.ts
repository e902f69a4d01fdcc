/**
 * Thousands of EAP-NOOB authentications in process, our server method (src/noob/method.ts) against
 * our peer (src/peer/noob), GC forced, on the store `gangway serve` opens by default: SQLite
 * (better-sqlite3) in a temporary directory, audit log included. The TEAP soak
 * (test/teap-brski/teap/memory-soak.test.ts) guards TLS and its tunnel; EAP-NOOB has neither, and
 * what it holds per conversation is the state machine's phase with its ECDHE key pairs, the record
 * read for each step, the registration quota, and the store's JavaScript side (prepared statements,
 * transactions, rows decoded into records). Two kinds take turns over eight devices:
 *   - a registration: the portal's "remove device" drops the device's record and the device forgets
 *     its association (a factory reset); then the Initial Exchange, the device's QR code delivered
 *     as `gangway noob-oob` delivers it (bound to an account, audited), and the Completion Exchange;
 *   - a Reconnect Exchange in KeyingMode 2 (fresh X25519 at both ends, checked in the server's log
 *     line) of the device registered longest ago.
 *
 * Re-registering the same eight devices keeps the NOOB tables at eight peers (a record deleted, one
 * created, SQLite reusing the freed pages); only the audit log grows, a row of about 150 bytes per
 * delivery: 0.37 to 0.91 MB of database over the measured part. SQLite's page cache keeps what it
 * read or wrote up to its default bound (2,000 KiB a connection), so it may grow by what the file
 * grows during the run, half a megabyte here and 2 MB whatever the counts, within the native bound
 * below; the report prints the database's size at both ends for a run that comes near it. New
 * devices without end would not measure more: their rows are on disk, and what the cache holds of
 * them stops at the same bound.
 *
 * Bounds and their reading are the TEAP soak's: floors (the least of the first four samples
 * against the least of the last four), retained JavaScript (V8 heap used + external memory), and
 * memory outside V8's heap (RSS - heapTotal) judged by halves, since the allocator and SQLite's
 * cache move in steps. Measured on Node 20.20.2, 2 shared cores, another jest process busy on
 * them in most runs:
 *   - retained: +0.14 to +0.20 MB without a leak (five runs). That drift is V8's optimizing
 *     compiler, not data: in plain node, the same loop's heap snapshots after 1,500 and after 7,500
 *     authentications differed by +550 KB, all of it code objects with their deopt data,
 *     relocation info and source position tables; no JavaScript object, and among strings only
 *     the eight devices' PeerIds, swapped for new ones. One kilobyte kept per successful
 *     authentication (the method's success step pushing a 1 KB Buffer, or an array of 124 numbers,
 *     to a module-level array) gave +6.25 and +5.41 MB; an array of 12 numbers (about 140 bytes)
 *     still gave +0.95 MB, beyond the 0.75 MB bound.
 *   - outside V8's heap: +0.16 to +1.62 MB without a leak, by halves -0.47 to +1.19 MB. The 1 KB
 *     Buffers, whose memory is allocated outside V8's heap, moved it by +7.78 MB (+3.45 and +2.66
 *     by halves) and broke this bound too; the arrays, which V8's heap holds, left it within
 *     (+0.98 and +2.06 MB, the wander).
 *
 * What it cannot tell from that drift: less than about 150 bytes kept per authentication. A map
 * entry per new PeerId (about 100 bytes a registration) gave +0.50 MB against +0.17 MB without, and
 * passed. The registrations here are the happy path through the method alone (no RADIUS front end,
 * no authorizer, no unfinished Initial Exchanges or refusals); `gangway bench --method
 * noob-completion --count 20000` shows the whole server's RSS over new devices.
 *
 * The counts keep it bounded: 20–23 s of CPU (about 2.2 ms an authentication, both ends in this
 * process, warm-up included, the suite's log capture on). Fewer authentications would not tell a
 * leak of a hundred-odd bytes from the compiler's drift: 1,800 after 600 of warm-up drifted by
 * +0.21 MB as well.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { createNoobMethod, type NoobMethod } from '../../src/noob/method.js';
import { deliverOobFromUrl } from '../../src/noob/oob.js';
import { resolvePeerConfig, type ResolvedNoobPeerConfig } from '../../src/peer/noob/config.js';
import { peerOobToShow } from '../../src/peer/noob/oob.js';
import { runNoobPeer, type ConversationOutcome } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../src/peer/noob/state.js';
import { openSqliteStores, type SqliteStores } from '../../src/store/sqlite/stores.js';
import { silentLog, type Log } from '../../src/util/log.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { loopback } from './helpers.js';
import { floor, mb, settledMemory, signed, type SettledMemory } from '../helpers/memory-soak.js';

const DEVICES = 8;
const WARMUP = 2400;
const AUTHENTICATIONS = 7200;
const SAMPLE_EVERY = 400;
/** Samples whose least value is a floor: the first ones after warm-up, and the last ones. */
const FLOOR_SAMPLES = 4;
const MAX_NATIVE_GROWTH_MB = 4;
const MAX_RETAINED_GROWTH_MB = 0.75;
const ACCOUNT = 'alice';

interface Device {
  readonly config: ResolvedNoobPeerConfig;
  store: MemoryPeerStateStore;
  peerId?: string;
}

interface Soak {
  stores: SqliteStores;
  method: NoobMethod;
  devices: Device[];
  /** Long-lived, so it must keep nothing: a log holding its lines would be a leak of the test's own. */
  log: Log;
}

function failed(what: string, o: ConversationOutcome): Error {
  return new Error(`${what}: ${o.result} ${o.exchange ?? 'no exchange'} (${o.reason ?? (o.serverError !== undefined ? `server error ${o.serverError}` : o.peerError !== undefined ? `peer error ${o.peerError}` : `MS-MPPE ${o.mppe ?? 'absent'}`)})`);
}

/**
 * The device starts over as a new one: the portal's "remove device" drops its record, and the
 * device forgets its association (a factory reset). Then Initial Exchange, the device's QR code
 * delivered as `gangway noob-oob` delivers it (audited, bound to an account), and Completion.
 */
async function register(s: Soak, device: Device, i: number): Promise<void> {
  if (device.peerId !== undefined && !(await s.stores.noobPeers.remove(device.peerId))) throw new Error(`${i}: the record of ${device.peerId} was not there to remove`);
  device.store = new MemoryPeerStateStore();
  const transport = loopback(() => s.method, new MemoryLog());
  const run = (): Promise<ConversationOutcome> => runNoobPeer({ transport, store: device.store, config: device.config, log: s.log });
  const initial = await run();
  if (initial.exchange !== 'initial' || initial.state.state !== 1) throw failed(`${i}: Initial Exchange`, initial);
  const shown = peerOobToShow(await device.store.load(), { config: device.config, now: new Date(), random: systemRandom });
  if (!shown) throw new Error(`${i}: the device shows no OOB message`);
  await device.store.save(shown.state);
  const delivered = await deliverOobFromUrl(s.stores.noobPeers, shown.text, ACCOUNT, { log: s.log, audit: s.stores.audit, config: s.method.config });
  if (!delivered.ok) throw new Error(`${i}: OOB delivery refused: ${delivered.detail}`);
  const completion = await run();
  if (completion.result !== 'success' || completion.exchange !== 'completion' || completion.state.state !== 4 || completion.mppe !== 'match') throw failed(`${i}: Completion Exchange`, completion);
  device.peerId = delivered.peerId;
}

async function reconnect(s: Soak, device: Device, i: number): Promise<void> {
  const conversationLog = new MemoryLog();
  const transport = loopback(() => s.method, conversationLog);
  const o = await runNoobPeer({ transport, store: device.store, config: device.config, log: s.log });
  if (o.result !== 'success' || o.exchange !== 'reconnect' || o.mppe !== 'match') throw failed(`${i}: Reconnect Exchange`, o);
  // KeyingMode 2 is the dearest that keeps Kz (fresh ECDHE at both ends); 1 would skip the key pairs.
  const done = conversationLog.lines.find((l) => l.msg === 'eap-noob: Reconnect Exchange succeeded');
  if ((done?.obj as { keyingMode?: number } | undefined)?.keyingMode !== 2) throw new Error(`${i}: Reconnect not in KeyingMode 2: ${JSON.stringify(done)}`);
}

/** Registrations and Reconnects take turns; a Reconnect is of the device registered longest ago. */
async function authenticate(s: Soak, i: number): Promise<void> {
  const turn = Math.floor(i / 2);
  if (i % 2 === 0) await register(s, s.devices[turn % DEVICES]!, i);
  else await reconnect(s, s.devices[(turn + 1) % DEVICES]!, i);
}

test(`memory stays flat over ${AUTHENTICATIONS} EAP-NOOB registrations and Reconnects on the SQLite store (GC forced)`, async () => {
  const cpuBefore = process.cpuUsage();
  const dir = mkdtempSync(join(tmpdir(), 'gangway-noob-soak-'));
  const stores = openSqliteStores(join(dir, 'gangway.db'));
  try {
    const log = silentLog();
    const method = createNoobMethod({
      store: stores.noobPeers,
      config: { oobUrl: 'https://gangway.example.org/noob', newNai: 'noob@devices.example.org', serverName: 'Gangway soak', reconnectKeyingMode: 2 },
      log,
      audit: stores.audit,
    });
    const devices = Array.from({ length: DEVICES }, (_, n): Device => ({
      config: resolvePeerConfig({ peerInfo: { PeerName: `soak device ${n}`, Manufacturer: 'Gangway tests', SerialNumber: `S-${n}` } }),
      store: new MemoryPeerStateStore(),
    }));
    const s: Soak = { stores, method, devices, log };
    for (const [n, device] of devices.entries()) await register(s, device, -1 - n);
    for (let i = 0; i < WARMUP; i++) await authenticate(s, i);
    const samples: SettledMemory[] = [];
    const pages = (): number => stores.db.pragma('page_count', { simple: true }) as number;
    const pagesBefore = pages();
    for (let i = 1; i <= AUTHENTICATIONS; i++) {
      await authenticate(s, WARMUP + i);
      if (i % SAMPLE_EVERY === 0) samples.push(await settledMemory());
    }
    const pageSize = stores.db.pragma('page_size', { simple: true }) as number;
    const first = samples.slice(0, FLOOR_SAMPLES);
    const last = samples.slice(-FLOOR_SAMPLES);
    const nativeGrowth = (floor(last.map((x) => x.native)) - floor(first.map((x) => x.native))) / 1048576;
    const half = Math.floor(samples.length / 2);
    const nativeHalves = [samples.slice(0, half), samples.slice(half)].map((h) =>
      (floor(h.slice(-FLOOR_SAMPLES).map((x) => x.native)) - floor(h.slice(0, FLOOR_SAMPLES).map((x) => x.native))) / 1048576);
    const nativeLeak = nativeHalves.every((g) => g >= MAX_NATIVE_GROWTH_MB / 2) || nativeGrowth >= 2 * MAX_NATIVE_GROWTH_MB;
    const rssGrowth = (floor(last.map((x) => x.rss)) - floor(first.map((x) => x.rss))) / 1048576;
    const retainedGrowth = (floor(last.map((x) => x.retained)) - floor(first.map((x) => x.retained))) / 1048576;
    const cpu = process.cpuUsage(cpuBefore);
    const report = `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU; outside V8's heap ${signed(nativeGrowth)} MB, by halves ${nativeHalves.map(signed).join(' and ')} (bound: ${MAX_NATIVE_GROWTH_MB / 2} in both halves, ${2 * MAX_NATIVE_GROWTH_MB} in all; RSS ${signed(rssGrowth)}), retained ${signed(retainedGrowth)} MB (bound ${MAX_RETAINED_GROWTH_MB}); ` +
      `database ${mb(pagesBefore * pageSize)} → ${mb(pages() * pageSize)} MB; every ${SAMPLE_EVERY} (RSS/outside V8's heap/retained MB): ${samples.map((x) => `${mb(x.rss)}/${mb(x.native)}/${mb(x.retained)}`).join(' ')}`;
    process.stdout.write(`${report}\n`);
    const verdict = !nativeLeak && retainedGrowth < MAX_RETAINED_GROWTH_MB ? 'within' : 'beyond';
    expect(`${verdict} the bounds: ${report}`).toMatch(/^within/);
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
