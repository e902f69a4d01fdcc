/**
 * Hundreds of TEAP-BRSKI enrolments through a whole Gangway server, GC forced: what the EAP-TLS and
 * TEAP soaks (test/eap-methods/eap-tls/memory-soak.test.ts, test/teap-brski/teap/memory-soak.test.ts)
 * cannot see. Every part is the real one, in this process: `gangway masa`'s MASA on a loopback
 * HTTPS port, `gangway serve`'s server (RADIUS front end, authorizer, SQLite store, registrar,
 * registrar CA, BRSKI device records, audit) on a loopback UDP port, and our pledge and re-enroller
 * over RADIUS, and our pledge over HTTPS. Three kinds of conversation take turns, over a few devices:
 *   - flow B: the IDevID in Phase 1, a voucher-request signed by the pledge, a registrar
 *     voucher-request to the MASA over HTTPS, the voucher checked by both ends, a PKCS#10, an LDevID
 *     issued, recorded and audited;
 *   - flow C: the LDevID the device got last in Phase 1, judged against the store, a new PKCS#10,
 *     a new LDevID recorded with its lineage;
 *   - BRSKI over HTTPS (RFC 8995 §5, RFC 7030): the same registrar's listener, the IDevID as TLS
 *     client certificate, requestvoucher and simpleenroll on one connection.
 * The enrolment limit is off, so that every conversation issues a certificate.
 *
 * The store grows by design (issued certificates, audit entries, access sessions): it is on disk,
 * and SQLite's page cache is bounded (its default, 2 MB a connection), so what it holds in memory
 * rises to that bound and stays. Both logs are silent: a log that keeps its lines would be a leak
 * of the test's own.
 *
 * Floors as in the TEAP soak (the least of the first four samples against the least of the last
 * four; outside V8's heap judged by halves, since the allocator and SQLite's cache move in steps),
 * but V8's heap apart from the memory of typed arrays and Buffers (external), where every DER of a
 * conversation lives (certificates, vouchers, PKCS#10, PKCS#7). Measured on Node 20.20.2, 2 shared
 * cores, another process busy beside:
 *   - external memory does not move without a leak: -0.04 to +0.01 MB in four runs, every sample
 *     within 0.04 MB of the others. The registrar's MASA client used to keep every voucher for
 *     five minutes under the bytes of a registrar voucher-request, which never come twice: about
 *     2 KB per voucher (these runs are shorter than those minutes), +0.24 to +0.32 MB in the runs
 *     with it (+0.28 MB at the counts below), so the bound is 0.15 MB.
 *   - V8's heap moves by itself: in some runs a one-time release of about 2.5 MB (V8's own objects:
 *     heap snapshots before and after show no object of ours freed), and its compiled code grows
 *     all along as it optimises more (heap snapshots 240 conversations apart: +0.78 MB of code
 *     objects, +0.22 MB of the dependent-code lists of maps, +0.03 MB of all else). Heap used grew
 *     by up to +0.81 MB with the code in it; code spaces are now left out of the figure. Its bound
 *     is still loose, 1.5 MB between floors that may be 180 conversations apart: an object graph
 *     of about 8 KB or more kept per conversation, and more in a run with the release. Without
 *     the code: +0.39 MB in the run after (+0.01 MB external, 92 s of CPU).
 * Four devices take turns, so a map keyed by device (serial number, IDevID, device id) cannot grow
 * here; a review of that code is what covers it.
 *
 * About 0.2–0.3 s of CPU a conversation, both ends and the MASA in this process with the suite's
 * log capture on (signatures, key pairs, two or three TLS handshakes): 95–106 s for the counts
 * below, 300 conversations after 75.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { initMasaDir, issueIdevid, loadMasaConfig, runMasa, type RunningMasa } from '../../../src/masa/index.js';
import { initDataDir } from '../../../src/cli/init.js';
import { loadConfig } from '../../../src/config/config.js';
import { startGangway, type RunningGangway } from '../../../src/server.js';
import { silentLog } from '../../../src/util/log.js';
import { RadiusClient } from '../../../src/radius/client.js';
import { loadPledgeCredentials, type PledgeCredentials } from '../../../src/peer/brski/credentials.js';
import { runPledgeOverRadius } from '../../../src/peer/brski/teap-pledge.js';
import { runReenrollOverRadius, type LdevidCredentials } from '../../../src/peer/brski/reenroll.js';
import { HttpsPledge } from '../../../src/peer/brski/https-pledge.js';
import { freeTcpPort } from '../../../src/bench/udp-port.js';
import { TEST_RADIUS_SECRET } from '../../helpers/test-secrets.js';
import { floor, mb, settledMemory, signed, type SettledMemory } from '../../helpers/memory-soak.js';

const DEVICES = 4;
const WARMUP = 75;
const CONVERSATIONS = 300;
const SAMPLE_EVERY = 30;
const FLOOR_SAMPLES = 4;
const MAX_NATIVE_GROWTH_MB = 4;
/** Typed arrays and Buffers: every DER a conversation handles (certificates, vouchers, PKCS#10, PKCS#7). */
const MAX_EXTERNAL_GROWTH_MB = 0.15;
/** JavaScript objects, without V8's compiled code, with the rest of V8's own drift in it (see above). */
const MAX_HEAP_GROWTH_MB = 1.5;

interface World {
  dir: string;
  masa: RunningMasa;
  gangway: RunningGangway;
  port: number;
  secret: string;
  /** BRSKI/EST over HTTPS: https://127.0.0.1:PORT. */
  httpsUrl: string;
  pledges: PledgeCredentials[];
  close(): Promise<void>;
}

/** Everything it started is stopped, and its directory removed, if any step fails. */
async function world(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-brski-soak-'));
  let masa: RunningMasa | undefined;
  let gangway: RunningGangway | undefined;
  const close = async (): Promise<void> => {
    try {
      await gangway?.close();
    } finally {
      try {
        await masa?.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  };
  try {
    const made = await initMasaDir(join(dir, 'masa'), { listen: '127.0.0.1:0' });
    const masaConfig = loadMasaConfig(join(dir, 'masa'));
    masa = await runMasa(masaConfig, silentLog());
    const pledges: PledgeCredentials[] = [];
    for (let i = 1; i <= DEVICES; i++) {
      const out = join(dir, `SOAK-${i}`);
      await issueIdevid(masaConfig, { serialNumber: `SOAK-${i}`, outDir: out, masaUrl: `127.0.0.1:${masa.port}` });
      pledges.push(loadPledgeCredentials(out));
    }
    const httpsPort = await freeTcpPort();
    const init = await initDataDir(join(dir, 'server'), { radiusPort: 0, secret: TEST_RADIUS_SECRET, serverName: 'radius.test.example' });
    const doc = parse(readFileSync(init.config, 'utf8')) as Record<string, Record<string, unknown>>;
    doc.eap = { ...doc.eap, rules: [{ realm: 'brski.invalid', methods: ['teap'] }] };
    doc.brski = {
      manufacturers: [{ name: 'acme', ca: made.paths.manufacturerCaCert, masaCa: made.paths.tlsCaCert, approval: 'auto', masaUrl: `127.0.0.1:${masa.port}` }],
      // Generous: the MASA runs in this busy process, and one late answer would fail the run.
      masa: { timeoutMs: 25_000, retries: 1 },
      enrolmentLimit: { certificates: 0, perSeconds: 3600 },
      https: `127.0.0.1:${httpsPort}`,
    };
    doc.methods = {
      ...doc.methods,
      teap: {
        policies: {
          pledge: { clientCertificate: 'required', sequence: [{ identityType: 'machine', methods: ['brski'] }] },
          enrolled: { clientCertificate: 'required', sequence: [{ methods: ['brski-reenroll'] }] },
        },
        rules: [{ certificate: 'manufacturer:acme', policy: 'pledge' }, { certificate: 'domain', policy: 'enrolled' }],
      },
    };
    writeFileSync(init.config, stringify(doc));
    gangway = await startGangway(loadConfig(join(dir, 'server')), silentLog());
    return { dir, masa, gangway, port: gangway.addresses[0]!.port, secret: init.radius.secret, httpsUrl: `https://127.0.0.1:${httpsPort}`, pledges, close };
  } catch (err) {
    await close();
    throw err;
  }
}

test(`memory stays flat over ${CONVERSATIONS} TEAP-BRSKI enrolments and re-enrolments through the whole server (GC forced)`, async () => {
  const cpuBefore = process.cpuUsage();
  const w = await world();
  const client = new RadiusClient({ host: '127.0.0.1', port: w.port, secret: w.secret });
  const ldevids = new Map<number, LdevidCredentials>();
  const radius = { host: '127.0.0.1', port: w.port, secret: w.secret, client };
  let issued = 0;
  async function converse(i: number): Promise<void> {
    const device = Math.floor(i / 3) % DEVICES;
    const held = ldevids.get(device);
    const kind = held ? i % 3 : 0;
    if (kind === 0) {
      const r = await runPledgeOverRadius({ credentials: w.pledges[device]!, outerIdentity: 'teap-bootstrap@brski.invalid', maxVersion: 'TLSv1.2' }, radius);
      const e = r.pledge.enrollment;
      if (!r.enrolled || !e) throw new Error(`flow B ${i} (device ${device}) failed: ${r.radius.outcome} ${r.radius.reason ?? ''} ${JSON.stringify(r.pledge.failure ?? r.pledge.refusal ?? null)}`);
      ldevids.set(device, { ldevid: e.ldevid, intermediates: e.intermediates, privateKey: e.privateKey, trustAnchors: e.trustAnchors });
    } else if (kind === 1) {
      const r = await runReenrollOverRadius({ credentials: held!, outerIdentity: 'anonymous@brski.invalid', maxVersion: 'TLSv1.2' }, radius);
      if (r.radius.outcome !== 'accept' || !r.radius.mppeMatches || !r.result) {
        throw new Error(`flow C ${i} (device ${device}) failed: ${r.radius.outcome} ${r.radius.reason ?? ''} ${JSON.stringify(r.failure ?? r.refusal ?? null)}`);
      }
      ldevids.set(device, r.result);
    } else {
      const r = await new HttpsPledge({ credentials: w.pledges[device]!, url: w.httpsUrl }).enroll();
      if (!r.ok) throw new Error(`BRSKI over HTTPS ${i} (device ${device}) failed at ${r.stage}: ${r.reason}`);
      const e = r.enrollment;
      ldevids.set(device, { ldevid: e.ldevid, intermediates: e.intermediates, privateKey: e.privateKey, trustAnchors: e.trustAnchors });
    }
    issued++;
  }
  try {
    for (let i = 0; i < WARMUP; i++) await converse(i);
    const samples: SettledMemory[] = [];
    for (let i = 1; i <= CONVERSATIONS; i++) {
      await converse(WARMUP + i);
      if (i % SAMPLE_EVERY === 0) samples.push(await settledMemory());
    }
    // Each conversation issued a certificate of its own: the store saw every one.
    const recorded = (await Promise.all(w.pledges.map((p) => w.gangway.stores.issuedCertificates.listByDevice(`acme:${p.serialNumber}`)))).flat();
    expect(recorded).toHaveLength(issued);
    expect(new Set(recorded.map((r) => r.serial)).size).toBe(issued);
    expect(new X509Certificate(ldevids.get(0)!.ldevid).subject).toContain('CN=acme:SOAK-1');

    const growth = (pick: (x: SettledMemory) => number, of: readonly SettledMemory[] = samples): number =>
      (floor(of.slice(-FLOOR_SAMPLES).map(pick)) - floor(of.slice(0, FLOOR_SAMPLES).map(pick))) / 1048576;
    const half = Math.floor(samples.length / 2);
    const nativeGrowth = growth((x) => x.native);
    const nativeHalves = [samples.slice(0, half), samples.slice(half)].map((h) => growth((x) => x.native, h));
    const nativeLeak = nativeHalves.every((g) => g >= MAX_NATIVE_GROWTH_MB / 2) || nativeGrowth >= 2 * MAX_NATIVE_GROWTH_MB;
    const externalGrowth = growth((x) => x.external);
    const heapGrowth = growth((x) => x.heapLessCode);
    const cpu = process.cpuUsage(cpuBefore);
    const report = `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU for ${issued} certificates; external ${signed(externalGrowth)} MB (bound ${MAX_EXTERNAL_GROWTH_MB}), ` +
      `V8 heap used less code ${signed(heapGrowth)} MB (bound ${MAX_HEAP_GROWTH_MB}), outside V8's heap ${signed(nativeGrowth)} MB, by halves ${nativeHalves.map(signed).join(' and ')} ` +
      `(bound: ${MAX_NATIVE_GROWTH_MB / 2} in both halves, ${2 * MAX_NATIVE_GROWTH_MB} in all; RSS ${signed(growth((x) => x.rss))}); ` +
      `every ${SAMPLE_EVERY} (RSS/outside V8's heap/heap used less code/external MB): ${samples.map((x) => `${mb(x.rss)}/${mb(x.native)}/${mb(x.heapLessCode)}/${mb(x.external)}`).join(' ')}`;
    process.stdout.write(`${report}\n`);
    const verdict = !nativeLeak && externalGrowth < MAX_EXTERNAL_GROWTH_MB && heapGrowth < MAX_HEAP_GROWTH_MB ? 'within' : 'beyond';
    expect(`${verdict} the bounds: ${report}`).toMatch(/^within/);
  } finally {
    try {
      await client.close();
    } finally {
      await w.close();
    }
  }
}, 600_000);
