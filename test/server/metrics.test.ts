/**
 * `GET /metrics` scraped from a real server after real traffic over UDP: our EAP-TLS peer accepted
 * once and refused once (a certificate that names no one), a Status-Server, an Accounting-Request and a request signed with the wrong
 * secret. Every counter must have moved by exactly what was sent, the histograms must agree with
 * the counters, and nothing the peer or the NAS said (identity, MAC, address) may appear.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import { integerAttribute, stringAttribute } from '../../src/radius/attributes.js';
import { RadiusClient } from '../../src/radius/client.js';
import { AcctStatusType, AttributeType } from '../../src/radius/dictionary.js';
import { RadiusCode } from '../../src/radius/packet.js';
import { DROP_REASONS } from '../../src/radius/server.js';
import { REQUEST_SECONDS } from '../../src/server/metrics.js';
import { CONVERSATION_ENDS } from '../../src/eap-methods/observer.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { issueOddClientCert } from '../helpers/odd-certs.js';
import { parseExposition, samples, value, type Exposition } from '../helpers/prometheus-text.js';
import { serverTlsEngines } from '../helpers/tls-engines.js';

const IDENTITY = 'metrics-peer@site.example';
const OTHER_IDENTITY = 'intruder@elsewhere.example';
const MAC = '02-4D-45-54-52-49';
const OTHER_MAC = '02-4D-45-54-52-4A';
const NAS_ID = 'nas-ident-metrics';

async function scrape(g: TestGangway): Promise<{ text: string; e: Exposition; contentType: string | null }> {
  const { host, port } = g.running.health!;
  const res = await fetch(`http://${host}:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, e: parseExposition(text), contentType: res.headers.get('content-type') };
}

/** What a counter or a histogram's count moved between two scrapes. */
function delta(before: Exposition, after: Exposition, name: string, labels: Record<string, string>): number {
  return value(after, name, labels) - value(before, name, labels);
}

describe.each(serverTlsEngines())('GET /metrics after real traffic (server TLS engine %s)', (engine) => {
  let g: TestGangway;
  beforeAll(async () => {
    g = await startTestGangway({ tlsEngine: engine, configure: (doc) => (doc.health = { listen: '127.0.0.1:0' }) });
  });
  afterAll(async () => {
    await g.close();
  });

  test('counters move by exactly what was sent; histograms agree; no identity, MAC or address in it', async () => {
    const ca = readFileSync(g.init.files.caCert);
    // Issued by our CA with nothing to name its holder by: the handshake completes, then the server refuses.
    const nameless = await issueOddClientCert(readFileSync(g.init.files.caCert, 'utf8'), readFileSync(g.init.files.caKey, 'utf8'), { subject: 'CN=' });
    const before = await scrape(g);
    expect(before.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');

    const nas = { host: '127.0.0.1', port: g.port, secret: g.secret, nasIdentifier: NAS_ID };
    const accepted = await runEapOverRadius(
      new EapTlsEapPeer({ identity: IDENTITY, tls: { cert: readFileSync(g.init.files.clientCert), key: readFileSync(g.init.files.clientKey), ca, servername: 'radius.test.example' } }),
      { ...nas, userName: IDENTITY, callingStationId: MAC },
    );
    expect(accepted).toMatchObject({ outcome: 'accept', mppeMatches: true });
    const refused = await runEapOverRadius(
      new EapTlsEapPeer({ identity: OTHER_IDENTITY, tls: { cert: Buffer.from(nameless.certPem), key: Buffer.from(nameless.keyPem), ca, servername: 'radius.test.example' } }),
      { ...nas, userName: OTHER_IDENTITY, callingStationId: OTHER_MAC },
    );
    expect(refused.outcome).toBe('reject');

    const status = new RadiusClient({ host: '127.0.0.1', port: g.port, secret: g.secret });
    await status.statusServer();
    await status.close();

    const accounting = new RadiusClient({ host: '127.0.0.1', port: g.running.accountingAddresses[0]!.port, secret: g.secret });
    const acctReply = await accounting.send({
      code: RadiusCode.AccountingRequest,
      attributes: [
        integerAttribute(AttributeType.AcctStatusType, AcctStatusType.Start),
        stringAttribute(AttributeType.AcctSessionId, 'S-metrics-1'),
        stringAttribute(AttributeType.NasIdentifier, NAS_ID),
        stringAttribute(AttributeType.UserName, IDENTITY),
        stringAttribute(AttributeType.CallingStationId, MAC),
      ],
    });
    expect(acctReply.packet.code).toBe(RadiusCode.AccountingResponse);
    await accounting.close();

    // Signed with the wrong secret: dropped, never answered.
    const wrong = new RadiusClient({ host: '127.0.0.1', port: g.port, secret: 'not-the-secret', initialTimeoutMs: 300, maxRetransmissions: 0, maxDurationMs: 300 });
    await expect(wrong.statusServer()).rejects.toThrow();
    await wrong.close();

    const after = await scrape(g);
    const b = before.e;
    const a = after.e;
    const auth = { service: 'authentication', client: 'localhost' };
    const rounds = accepted.rounds + refused.rounds;

    // RADIUS, authentication port: every Access-Request of both conversations, two Status-Servers.
    expect(delta(b, a, 'gangway_radius_requests_total', { ...auth, code: 'Access-Request' })).toBe(rounds);
    expect(delta(b, a, 'gangway_radius_requests_total', { ...auth, code: 'Status-Server' })).toBe(2);
    expect(delta(b, a, 'gangway_radius_responses_total', { ...auth, code: 'Access-Accept' })).toBe(1);
    expect(delta(b, a, 'gangway_radius_responses_total', { ...auth, code: 'Access-Reject' })).toBe(1);
    expect(delta(b, a, 'gangway_radius_responses_total', { ...auth, code: 'Access-Challenge' })).toBe(rounds - 2);
    expect(delta(b, a, 'gangway_radius_status_server_answers_total', auth)).toBe(1);
    for (const reason of DROP_REASONS) {
      expect([reason, delta(b, a, 'gangway_radius_dropped_total', { service: 'authentication', reason })]).toEqual([reason, reason === 'bad-message-authenticator' ? 1 : 0]);
    }
    // Latency: one observation per decided reply, +Inf bucket = count, a positive sum.
    for (const [code, n] of [['Access-Accept', 1], ['Access-Reject', 1], ['Access-Challenge', rounds - 2]] as const) {
      const labels = { service: 'authentication', code };
      expect(delta(b, a, 'gangway_radius_request_duration_seconds_count', labels)).toBe(n);
      expect(value(a, 'gangway_radius_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(value(a, 'gangway_radius_request_duration_seconds_count', labels));
      expect(delta(b, a, 'gangway_radius_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
    }
    // The buckets, fine from 1 to 5 ms (a p99 against a 5 ms target), ascending and ending in +Inf.
    const les = samples(a, 'gangway_radius_request_duration_seconds_bucket', { service: 'authentication', code: 'Access-Accept' }).map((x) => x.labels.le);
    expect(les).toEqual([...REQUEST_SECONDS.map((x) => String(x)), '+Inf']);
    expect(REQUEST_SECONDS).toEqual(expect.arrayContaining([0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005]));

    // RADIUS, accounting port.
    const acct = { service: 'accounting', client: 'localhost' };
    expect(delta(b, a, 'gangway_radius_requests_total', { ...acct, code: 'Accounting-Request' })).toBe(1);
    expect(delta(b, a, 'gangway_radius_responses_total', { ...acct, code: 'Accounting-Response' })).toBe(1);
    expect(delta(b, a, 'gangway_radius_request_duration_seconds_count', { service: 'accounting', code: 'Accounting-Response' })).toBe(1);

    // EAP: two EAP-TLS conversations, one success and one failure, and their round trips.
    expect(delta(b, a, 'gangway_eap_methods_started_total', { method: 'eap-tls' })).toBe(2);
    for (const outcome of CONVERSATION_ENDS) {
      const n = delta(b, a, 'gangway_eap_conversations_ended_total', { method: 'eap-tls', outcome });
      expect([outcome, n]).toEqual([outcome, outcome === 'success' || outcome === 'failure' ? 1 : 0]);
    }
    const trips = (result: string) => ({ method: 'eap-tls', result });
    expect(delta(b, a, 'gangway_eap_round_trips_count', trips('success'))).toBe(1);
    expect(delta(b, a, 'gangway_eap_round_trips_sum', trips('success'))).toBe(accepted.rounds);
    expect(delta(b, a, 'gangway_eap_round_trips_count', trips('failure'))).toBe(1);
    expect(delta(b, a, 'gangway_eap_round_trips_sum', trips('failure'))).toBe(refused.rounds);
    // Each conversation lands in every bucket from the first bound at or above its count.
    for (const [result, n] of [['success', accepted.rounds], ['failure', refused.rounds]] as const) {
      const bounds = samples(a, 'gangway_eap_round_trips_bucket', trips(result)).map((s) => s.labels.le!);
      expect(bounds.length).toBeGreaterThan(5);
      for (const le of bounds) expect([le, delta(b, a, 'gangway_eap_round_trips_bucket', { ...trips(result), le })]).toEqual([le, le === '+Inf' || n <= Number(le) ? 1 : 0]);
    }
    expect(value(a, 'gangway_eap_conversations', { progress: 'fresh' }) + value(a, 'gangway_eap_conversations', { progress: 'progressing' }) + value(a, 'gangway_eap_conversations', { progress: 'established' })).toBe(0);
    expect(delta(b, a, 'gangway_eap_stray_responses_total', { reason: 'unknown-state' })).toBe(0);

    // The TLS engine in use, the store, the process.
    expect(value(a, 'gangway_tls_engine', { engine })).toBe(1);
    expect(value(a, 'gangway_tls_engine', { engine: engine === 'openssl' ? 'node' : 'openssl' })).toBe(0);
    expect(value(a, 'gangway_store_up')).toBe(1);
    expect(delta(b, a, 'gangway_store_operation_duration_seconds_count', { store: 'accounting', operation: 'apply' })).toBe(1);
    expect(delta(b, a, 'gangway_store_operation_duration_seconds_count', { store: 'liveness', operation: 'check' })).toBe(1);
    expect(samples(a, 'gangway_store_operation_failures_total')).toEqual([]);
    expect(value(a, 'gangway_shedding')).toBe(0);
    expect(value(a, 'gangway_radius_requests_in_flight')).toBe(0);
    expect(value(a, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(value(a, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(a, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0);

    // Every sample belongs to a family with a TYPE; counters never went down.
    for (const s of a.samples) expect([s.name, a.types.has(s.name.replace(/_(bucket|sum|count)$/, '')) || a.types.has(s.name)]).toEqual([s.name, true]);
    for (const s of a.samples) {
      if (a.types.get(s.name) === 'counter') expect(s.value).toBeGreaterThanOrEqual(value(b, s.name, s.labels));
    }

    // Nothing the peer or the NAS said, and no address, in any label or anywhere in the text.
    const grantedName = new X509Certificate(readFileSync(g.init.files.clientCert)).subject.replace(/^.*CN=/s, '').split('\n')[0]!;
    const forbidden = [IDENTITY, OTHER_IDENTITY, MAC, OTHER_MAC, MAC.toLowerCase(), NAS_ID, '127.0.0.1', '127.0.0.0/8', g.secret, grantedName, 'S-metrics-1'];
    expect(grantedName.length).toBeGreaterThan(3);
    const labelValues = new Set(a.samples.flatMap((s) => Object.values(s.labels)));
    for (const bad of forbidden) {
      expect([bad, [...labelValues].filter((v) => v.includes(bad))]).toEqual([bad, []]);
      expect([bad, after.text.includes(bad)]).toEqual([bad, false]);
    }
  });

  test('HEAD /metrics answers 200 without a body', async () => {
    const { host, port } = g.running.health!;
    const res = await fetch(`http://${host}:${port}/metrics`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});
