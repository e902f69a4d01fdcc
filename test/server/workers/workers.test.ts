/**
 * `startGangway` with two worker threads (src/server/workers/), over real UDP on loopback: whole
 * conversations of EAP-TLS and TEAP through our peers and eapol_test; State naming its worker; a
 * forged or unknown State; retransmissions answered once from the primary's reply cache; the
 * per-station limit, maxSessions and the password lockout across workers; a reload and a CRL
 * refresh reaching every worker (and a refused reload reaching none); /metrics summing the workers.
 */
import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../../src/config/config.js';
import { decodeEap, encodeEap, EapType } from '../../../src/eap-methods/eap-packet.js';
import { MschapV2Peer } from '../../../src/eap-methods/mschapv2/peer.js';
import { EapTlsEapPeer } from '../../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { nasAccessRequestAttributes } from '../../../src/peer/nas-request.js';
import { runEapOverRadius } from '../../../src/peer/radius-runner.js';
import { issueCrl } from '../../../src/pki/crl.js';
import { TeapPeer } from '../../../src/peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../../src/peer/teap/radius-runner.js';
import { AttributeType, RadiusCode, buildAccessRequest, getAttribute, joinEapMessage, verifyResponse, type RadiusPacket } from '../../../src/radius/index.js';
import { startTestGangway, type TestGangway } from '../../helpers/gangway.js';
import { describeEapolFailure, runEapolTest } from '../../helpers/eapol-test.js';
import { parseExposition, value } from '../../helpers/prometheus-text.js';
import { requireTool } from '../../helpers/require-tool.js';
import { UdpNas } from '../../helpers/udp-nas.js';
import { userWithPassword } from '../../teap-brski/helpers.js';

const eapolTest = requireTool('eapol_test');

let stationNo = 0;
/** A fresh Calling-Station-Id. */
const mac = (): string => {
  stationNo++;
  return `02-00-00-77-${((stationNo >> 8) & 0xff).toString(16).padStart(2, '0')}-${(stationNo & 0xff).toString(16).padStart(2, '0')}`;
};

const identity = (name: string): Uint8Array => encodeEap({ code: 2, identifier: 0, type: EapType.Identity, data: Buffer.from(name) });

/** The first Access-Challenge of a new conversation: its State and the EAP type offered. */
async function begin(nas: UdpNas, user: string, station: string): Promise<{ state: Uint8Array; type: number; reply: RadiusPacket }> {
  const { reply } = await nas.send({ userName: user, callingStationId: station }, identity(user), undefined);
  expect(reply.code).toBe(RadiusCode.AccessChallenge);
  const req = decodeEap(joinEapMessage(reply)!);
  return { state: getAttribute(reply, AttributeType.State)!, type: req.code === 1 ? req.type : -1, reply };
}

interface MschapOutcome {
  code: number;
  /** The worker (State's first octet) that held the conversation. */
  worker: number;
}

/** One bare EAP-MSCHAPv2 conversation. */
async function mschapv2(nas: UdpNas, user: string, password: string, station: string): Promise<MschapOutcome> {
  const who = { userName: user, callingStationId: station };
  let r = await nas.send(who, identity(user), undefined);
  const worker = getAttribute(r.reply, AttributeType.State)?.[0] ?? -1;
  const peer = new MschapV2Peer({ username: user, password });
  for (let round = 0; round < 6; round++) {
    if (r.reply.code !== RadiusCode.AccessChallenge) return { code: r.reply.code, worker };
    const req = decodeEap(joinEapMessage(r.reply)!);
    if (req.code !== 1 || req.type !== EapType.MsChapV2) throw new Error(`unexpected EAP ${req.code}`);
    const step = peer.process(req.data);
    r = await nas.send(who, encodeEap({ code: 2, identifier: req.identifier, type: EapType.MsChapV2, data: step.response }), getAttribute(r.reply, AttributeType.State));
  }
  throw new Error('too many rounds');
}

async function scrape(g: TestGangway): Promise<ReturnType<typeof parseExposition>> {
  const { host, port } = g.running.health!;
  return parseExposition(await (await fetch(`http://${host}:${port}/metrics`)).text());
}

function eapTlsPeer(g: TestGangway): EapTlsEapPeer {
  return new EapTlsEapPeer({
    identity: 'demo-client',
    tls: { cert: readFileSync(g.init.files.clientCert), key: readFileSync(g.init.files.clientKey), ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example' },
  });
}

describe('two worker threads', () => {
  let g: TestGangway;
  let nas: UdpNas;

  beforeAll(async () => {
    g = await startTestGangway({
      workers: 2,
      configure: (doc) => {
        doc.health = { listen: '127.0.0.1:0' };
        doc.eap = { defaultMethods: ['eap-tls'], rules: [{ realm: 'teap.example', methods: ['teap'] }, { realm: 'mschap.example', methods: ['eap-mschapv2'] }] };
        doc.tls = { ...(doc.tls as object), maxVersion: 'TLSv1.2' };
        doc.methods = { teap: { policy: { sequence: [{ methods: ['basic-password'] }] } } };
        doc.passwordLockout = { account: { maxFailures: 3, windowSeconds: 60, lockoutSeconds: 60 }, nas: { maxFailures: 1000, windowSeconds: 60, lockoutSeconds: 60 } };
      },
    });
    for (const name of ['bob', 'carol', 'carol@mschap.example', 'bob@mschap.example']) await userWithPassword(g.running.stores.users, name, `${name}-password`);
    nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
  });

  afterAll(async () => {
    nas.close();
    await g.close();
  });

  test('runs in worker threads: no authenticator in this thread, two workers named by the metrics', async () => {
    expect(g.running.workers).toBe(2);
    expect(g.running.eap).toBeUndefined();
    expect(value(await scrape(g), 'gangway_workers', {})).toBe(2);
  });

  test('new conversations spread over both workers; each State is the worker\'s octet and 16 random ones', async () => {
    const states = [];
    for (let i = 0; i < 6; i++) states.push((await begin(nas, 'demo-client', mac())).state);
    for (const s of states) expect(s.length).toBe(17);
    const workers = states.map((s) => s[0]);
    expect(new Set(workers)).toEqual(new Set([0, 1]));
    expect(workers.filter((w) => w === 0).length).toBe(3);
  });

  test('EAP-TLS and TEAP complete through our peers, on both workers, with the MPPE keys of the MSK', async () => {
    const before = await scrape(g);
    for (let i = 0; i < 4; i++) {
      const r = await runEapOverRadius(eapTlsPeer(g), { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'demo-client', callingStationId: mac() });
      expect({ outcome: r.outcome, reason: r.reason, mppe: r.mppeMatches }).toEqual({ outcome: 'accept', reason: undefined, mppe: true });
    }
    for (let i = 0; i < 2; i++) {
      const peer = new TeapPeer({
        outerIdentity: 'anonymous@teap.example',
        tls: { ca: readFileSync(join(g.init.dataDir, 'pki', 'ca.pem')), servername: 'radius.test.example', maxVersion: 'TLSv1.2' },
        user: { identity: 'bob', password: 'bob-password' },
      });
      const r = await runTeapOverRadius(peer, { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'anonymous@teap.example', callingStationId: mac() });
      expect({ outcome: r.outcome, reason: r.reason, mppe: r.mppeMatches }).toEqual({ outcome: 'accept', reason: undefined, mppe: true });
    }
    // The workers' counters and histograms are summed into what the primary renders.
    const after = await scrape(g);
    const moved = (name: string, labels: Record<string, string>): number => value(after, name, labels) - value(before, name, labels);
    expect(moved('gangway_eap_methods_started_total', { method: 'eap-tls' })).toBe(4);
    expect(moved('gangway_eap_methods_started_total', { method: 'teap' })).toBe(2);
    expect(moved('gangway_eap_conversations_ended_total', { method: 'eap-tls', outcome: 'success' })).toBe(4);
    expect(moved('gangway_eap_round_trips_count', { method: 'teap', result: 'success' })).toBe(2);
    expect(moved('gangway_radius_responses_total', { service: 'authentication', client: 'localhost', code: 'Access-Accept' })).toBe(6);
    // Users are looked up by the workers' own store connections, and timed there.
    expect(moved('gangway_store_operation_duration_seconds_count', { store: 'users', operation: 'get' })).toBe(2);
  }, 60_000);

  test('eapol_test (wpa_supplicant 2.10): EAP-TLS three times in a row through the workers', async () => {
    if (!eapolTest) throw new Error('eapol_test not found (scripts/build-hostap-tools.sh)');
    const config = `network={
  key_mgmt=WPA-EAP
  eap=TLS
  identity="demo-client"
  ca_cert="${g.init.files.caCert}"
  client_cert="${g.init.files.clientCert}"
  private_key="${g.init.files.clientKey}"
}
`;
    const r = await runEapolTest({ binary: eapolTest, config, port: g.port, secret: g.secret, reauths: 2, timeoutSec: 20 });
    expect({ success: r.success, detail: r.success ? '' : describeEapolFailure(r) }).toEqual({ success: true, detail: '' });
    expect(r.authSuccessCount).toBe(3);
    expect(r.mppeOk).toBe(3);
  }, 60_000);

  test('a State whose octet names another worker, or no worker, is an unknown State; the real conversation goes on', async () => {
    const station = mac();
    const first = await begin(nas, 'demo-client', station);
    const peer = eapTlsPeer(g);
    const request = decodeEap(joinEapMessage(first.reply)!);
    const action = await peer.receive(encodeEap(request));
    if (action.kind !== 'send') throw new Error('peer did not answer the EAP-TLS Start');
    const who = { userName: 'demo-client', callingStationId: station };
    for (const forged of [Buffer.concat([Buffer.of(first.state[0]! ^ 1), first.state.subarray(1)]), Buffer.concat([Buffer.of(7), first.state.subarray(1)]), first.state.subarray(1)]) {
      const { reply } = await nas.send(who, action.eap, forged);
      expect(reply.code).toBe(RadiusCode.AccessReject);
    }
    expect(g.log.lines.filter((l) => (l.obj as { reason?: string }).reason === 'unknown or expired State').length).toBeGreaterThanOrEqual(3);
    const { reply } = await nas.send(who, action.eap, first.state);
    expect(reply.code).toBe(RadiusCode.AccessChallenge);
    expect(Buffer.from(getAttribute(reply, AttributeType.State)!)).toEqual(Buffer.from(first.state));
    peer.dispose();
  });

  test('a forged State octet gives a station no second conversation on another worker, and moves none', async () => {
    const station = mac();
    const who = { userName: 'demo-client', callingStationId: station };
    const first = await begin(nas, 'demo-client', station);
    const home = first.state[0]!;
    const forged = Buffer.concat([Buffer.of(home ^ 1), first.state.subarray(1)]);
    // A Response under the forged octet goes to the other worker, which knows no such State.
    const peer = eapTlsPeer(g);
    const action = await peer.receive(encodeEap(decodeEap(joinEapMessage(first.reply)!)));
    if (action.kind !== 'send') throw new Error('peer did not answer the EAP-TLS Start');
    expect((await nas.send(who, action.eap, forged)).reply.code).toBe(RadiusCode.AccessReject);
    // An Identity under the forged octet begins a conversation: on the station's worker, where it
    // replaces the station's one (stationConversations 1), not beside it on the other.
    const second = await nas.send(who, identity('demo-client'), forged);
    expect(second.reply.code).toBe(RadiusCode.AccessChallenge);
    expect(getAttribute(second.reply, AttributeType.State)![0]).toBe(home);
    expect((await nas.send(who, action.eap, first.state)).reply.code).toBe(RadiusCode.AccessReject);
    // The station's next conversation is still on its worker, however the load lies.
    await begin(nas, 'demo-client', mac());
    expect((await begin(nas, 'demo-client', station)).state[0]).toBe(home);
    peer.dispose();
  });

  test('a retransmission is answered from the reply cache, byte for byte, and runs in no worker', async () => {
    const before = await scrape(g);
    const conversations = g.running.admission().conversations;
    const request = buildAccessRequest({ identifier: 200, attributes: nasAccessRequestAttributes({ userName: 'demo-client', callingStationId: mac() }, identity('demo-client'), undefined), secret: g.secret });
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const replies: Buffer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        replies.push(await new Promise<Buffer>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no reply')), 3000);
          sock.once('message', (m) => {
            clearTimeout(timer);
            resolve(m);
          });
          sock.send(request.bytes, g.port, '127.0.0.1');
        }));
      }
    } finally {
      sock.close();
    }
    expect(verifyResponse(new Uint8Array(replies[0]!), request.authenticator, g.secret).code).toBe(RadiusCode.AccessChallenge);
    expect(replies[1]).toEqual(replies[0]);
    expect(g.running.admission().conversations).toBe(conversations + 1);
    const after = await scrape(g);
    expect(value(after, 'gangway_radius_replays_total', { service: 'authentication', client: 'localhost' }) - value(before, 'gangway_radius_replays_total', { service: 'authentication', client: 'localhost' })).toBe(1);
    expect(value(after, 'gangway_eap_methods_started_total', { method: 'eap-tls' }) - value(before, 'gangway_eap_methods_started_total', { method: 'eap-tls' })).toBe(1);
  });

  test('one station, one conversation: a station\'s new conversation goes to its worker and replaces the old one', async () => {
    const station = mac();
    const older = await begin(nas, 'demo-client', station);
    // Another station in between moves the least-loaded choice on.
    await begin(nas, 'demo-client', mac());
    const newer = await begin(nas, 'demo-client', station);
    expect(newer.state[0]).toBe(older.state[0]);
    const peer = eapTlsPeer(g);
    const action = await peer.receive(encodeEap(decodeEap(joinEapMessage(older.reply)!)));
    if (action.kind !== 'send') throw new Error('peer did not answer');
    const { reply } = await nas.send({ userName: 'demo-client', callingStationId: station }, action.eap, older.state);
    expect(reply.code).toBe(RadiusCode.AccessReject);
    peer.dispose();
  });

  test('the password lockout holds across workers: a guesser alternating workers is locked after three failures', async () => {
    const tries: MschapOutcome[] = [];
    for (const password of ['guess-1', 'guess-2', 'guess-3']) tries.push(await mschapv2(nas, 'carol@mschap.example', password, mac()));
    const locked = await mschapv2(nas, 'carol@mschap.example', 'carol@mschap.example-password', mac());
    tries.push(locked);
    expect(tries.map((t) => t.code)).toEqual([RadiusCode.AccessReject, RadiusCode.AccessReject, RadiusCode.AccessReject, RadiusCode.AccessReject]);
    expect(new Set(tries.map((t) => t.worker))).toEqual(new Set([0, 1]));
    expect(g.log.lines.some((l) => /account "carol@mschap.example" is locked out until/.test(String((l.obj as { reason?: string }).reason)))).toBe(true);
    const audit = (await g.running.stores.audit.recent(50)).filter((e) => e.event === 'password.lockout' && e.subject === 'carol@mschap.example');
    expect(audit).toHaveLength(1);
    expect(value(await scrape(g), 'gangway_password_lockouts_total', { scope: 'account' })).toBe(1);
    // Someone else is not affected, on either worker.
    const others = [await mschapv2(nas, 'bob@mschap.example', 'bob@mschap.example-password', mac()), await mschapv2(nas, 'bob@mschap.example', 'bob@mschap.example-password', mac())];
    expect(others.map((o) => o.code)).toEqual([RadiusCode.AccessAccept, RadiusCode.AccessAccept]);
    expect(new Set(others.map((o) => o.worker)).size).toBe(2);
  }, 30_000);
});

describe('two worker threads: maxSessions', () => {
  test('eap.maxSessions holds in total: each worker holds its half (one NAS, clientShare 1)', async () => {
    const g = await startTestGangway({ workers: 2, configure: (doc) => (doc.eap = { maxSessions: 4, clientShare: 1 }) });
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    try {
      const workers = [];
      for (let i = 0; i < 8; i++) workers.push((await begin(nas, 'demo-client', mac())).state[0]);
      expect(workers.filter((w) => w === 0).length).toBe(4);
      expect(g.running.admission()).toMatchObject({ conversations: 4, fresh: 4, evicted: 4 });
      expect(g.running.shedding.snapshot().reasons['eap-evicted']).toBe(4);
    } finally {
      nas.close();
      await g.close();
    }
  });

  test('eap.clientShare holds in total: each worker holds its share of its half', async () => {
    const g = await startTestGangway({ workers: 2, configure: (doc) => (doc.eap = { maxSessions: 8, clientShare: 0.5 }) });
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    try {
      for (let i = 0; i < 8; i++) await begin(nas, 'demo-client', mac());
      // One NAS may hold 8 × 0.5 = 4, as with one thread: 2 in each worker.
      expect(g.running.admission()).toMatchObject({ conversations: 4, clients: 2, evicted: 4 });
    } finally {
      nas.close();
      await g.close();
    }
  });
});

describe('two worker threads: reload', () => {
  test('a reload changes the clients and the method settings in every worker; a refused one changes none', async () => {
    const g = await startTestGangway({ workers: 2 });
    const nas = await UdpNas.bind('127.0.0.1', g.secret, g.port);
    const newSecret = 'a-second-nas-secret-0123456789';
    const other = await UdpNas.bind('127.0.0.3', newSecret, g.port);
    try {
      const offered = async (via: UdpNas): Promise<Set<number>> => {
        const types = new Set<number>();
        const workers = new Set<number>();
        for (let i = 0; i < 4; i++) {
          const b = await begin(via, 'someone', mac());
          types.add(b.type);
          workers.add(b.state[0]!);
        }
        expect(workers).toEqual(new Set([0, 1]));
        return types;
      };
      expect(await offered(nas)).toEqual(new Set([EapType.Tls]));
      const doc = parse(readFileSync(g.init.config, 'utf8')) as Record<string, unknown>;
      doc.eap = { defaultMethods: ['eap-mschapv2'] };
      const radius = doc.radius as { clients: unknown[] };
      radius.clients.push({ name: 'second', address: '127.0.0.3', secret: newSecret });
      writeFileSync(g.init.config, stringify(doc));
      await g.running.reload(loadConfig(g.init.dataDir));
      expect(await offered(nas)).toEqual(new Set([EapType.MsChapV2]));
      expect(await offered(other)).toEqual(new Set([EapType.MsChapV2]));
      // A method no worker has: every worker builds, one refuses, none switches.
      doc.eap = { defaultMethods: ['eap-tls'], rules: [{ realm: 'x.example', methods: ['no-such-method'] }] };
      writeFileSync(g.init.config, stringify(doc));
      await expect(g.running.reload(loadConfig(g.init.dataDir))).rejects.toThrow(/no-such-method/);
      expect(await offered(nas)).toEqual(new Set([EapType.MsChapV2]));
    } finally {
      nas.close();
      other.close();
      await g.close();
    }
  }, 30_000);
});

describe('two worker threads: start', () => {
  test('a configuration the workers refuse fails the start with its ConfigError, and no thread is left running', async () => {
    await expect(startTestGangway({ workers: 2, configure: (doc) => (doc.eap = { plugins: [{ module: './no-such-plugin.mjs' }] }) }))
      .rejects.toMatchObject({ name: 'ConfigError', key: 'eap.plugins[0].module' });
  });

  test('fewer eap.maxSessions than workers is refused naming eap.maxSessions: the parts could not add up to it', async () => {
    await expect(startTestGangway({ workers: 4, configure: (doc) => (doc.eap = { maxSessions: 3 }) }))
      .rejects.toMatchObject({ name: 'ConfigError', key: 'eap.maxSessions' });
  });

  test('brski (one registrar) with more than one worker is refused naming server.workers', async () => {
    await expect(startTestGangway({ workers: 2, configure: (doc) => (doc.brski = { manufacturers: [{ name: 'acme', ca: 'pki/ca.pem', approval: 'auto' }] }) }))
      .rejects.toMatchObject({ name: 'ConfigError', key: 'server.workers' });
  });
});

describe('two worker threads: CRL refresh', () => {
  test('a CRL file that changes is applied in every worker without SIGHUP', async () => {
    const crlPath = (dataDir: string): string => join(dataDir, 'pki', 'ca.crl');
    const crl = (init: { files: { caCert: string; caKey: string } }, revoked: string[], crlNumber: bigint): Promise<string> =>
      issueCrl(readFileSync(init.files.caCert, 'utf8'), readFileSync(init.files.caKey, 'utf8'), revoked, { thisUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + 86_400_000), crlNumber });
    const g = await startTestGangway({
      workers: 2,
      prepare: async (init) => writeFileSync(crlPath(init.dataDir), await crl(init, [], 1n)),
      configure: (doc) => {
        doc.tls = { ...(doc.tls as object | undefined), crl: ['pki/ca.crl'], crlPollSeconds: 1 };
      },
    });
    try {
      // Consecutive new conversations alternate between the two idle workers.
      const four = async (): Promise<string[]> => {
        const out: string[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await runEapOverRadius(eapTlsPeer(g), { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'demo-client', callingStationId: mac() });
          // node:tls finishes the handshake and the method rejects; OpenSSL refuses it with alert 44.
          out.push(r.outcome === 'accept' ? 'accept' : r.outcome === 'reject' || /certificate revoked/.test(r.reason ?? '') ? 'refused' : `${r.outcome}: ${r.reason ?? ''}`);
        }
        return out;
      };
      expect(await four()).toEqual(['accept', 'accept', 'accept', 'accept']);
      const serial = new X509Certificate(readFileSync(g.init.files.clientCert)).serialNumber;
      const tmp = `${crlPath(g.init.dataDir)}.tmp`;
      writeFileSync(tmp, await crl(g.init, [serial], 2n));
      renameSync(tmp, crlPath(g.init.dataDir));
      for (let i = 0; i < 200 && !g.log.lines.some((l) => l.msg === 'CRL in force'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(g.log.lines.find((l) => l.msg === 'CRL in force')?.obj).toMatchObject({ why: 'file changed' });
      expect(await four()).toEqual(['refused', 'refused', 'refused', 'refused']);
    } finally {
      await g.close();
    }
  }, 60_000);
});
