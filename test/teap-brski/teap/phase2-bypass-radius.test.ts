import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TeapPeer, type Phase2Interceptor } from '../../../src/peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../../src/peer/teap/radius-runner.js';
import { IdentityType, RequestActionAction, ResultStatus, tlv, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { SECRET, startTeapRadius, type TeapRadius } from '../radius-harness.js';
import { serverTlsEngines } from '../../helpers/tls-engines.js';
import { useServerTlsEngine } from '../../helpers/gangway.js';
import { ALICE_PASSWORD, MACHINE_PASSWORD } from '../../helpers/test-secrets.js';

/**
 * The two Phase-2 bypasses of issue 7, through the whole server over UDP RADIUS, with our TEAP peer
 * driven to misbehave: each ends in Result=Failure + Error TLV, EAP-Failure, Access-Reject, and a
 * log line naming the cause.
 */

const logged = (s: TeapRadius, re: RegExp): boolean => s.log.lines.some((l) => re.test(`${l.msg ?? ''} ${Object.values(l.obj).map(String).join(' ')}`));

function peer(s: TeapRadius, creds: ConstructorParameters<typeof TeapPeer>[0] extends infer C ? Partial<C> : never, interceptor: Phase2Interceptor, seen: TeapTlv[][]): TeapPeer {
  return new TeapPeer({
    outerIdentity: 'anonymous@example.com',
    tls: { ca: readFileSync(join(s.dir, 'ca.pem')), servername: 'radius.test.example', maxVersion: 'TLSv1.2', ...(creds.tls ?? {}) },
    ...(creds.user ? { user: creds.user } : {}),
    ...(creds.machine ? { machine: creds.machine } : {}),
    phase2Interceptor: {
      incoming: (t) => {
        seen.push(t);
        return interceptor.incoming ? interceptor.incoming(t) : t;
      },
      ...(interceptor.outgoing ? { outgoing: interceptor.outgoing } : {}),
    },
  });
}

describe.each(serverTlsEngines())('attack 1 over RADIUS: Identity-Type switch (user step answered as machine), %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  let s: TeapRadius;
  beforeAll(async () => {
    s = await startTeapRadius({
      policy: { sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['basic-password'] }] },
    });
  });
  afterAll(async () => s.close());

  test('Access-Reject, Error 1004 in the tunnel, cause logged', async () => {
    const seen: TeapTlv[][] = [];
    let switched = false;
    const p = peer(s, { user: { identity: 'alice', password: ALICE_PASSWORD }, machine: { identity: 'alice', password: ALICE_PASSWORD } }, {
      incoming: (t) => {
        if (switched || !t.some((x) => x.kind === 'identity-type')) return t;
        switched = true;
        return t.map((x) => (x.kind === 'identity-type' ? tlv.identityType(IdentityType.Machine) : x));
      },
    }, seen);
    const r = await runTeapOverRadius(p, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com' });
    expect(switched).toBe(true);
    expect(r.outcome).toBe('reject');
    expect(r.mppeMatches).toBe(false);
    const last = seen[seen.length - 1]!;
    expect(last.some((t) => t.kind === 'result' && t.status === ResultStatus.Failure)).toBe(true);
    expect(last.find((t) => t.kind === 'error')).toMatchObject({ code: 1004 });
    expect(logged(s, /switched to Identity-Type machine, whose step 2 allows none of \[eap-mschapv2\]/)).toBe(true);
  });

  test('the honest peer still gets Access-Accept with both steps', async () => {
    const p = new TeapPeer({
      outerIdentity: 'anonymous@example.com',
      tls: { ca: readFileSync(join(s.dir, 'ca.pem')), servername: 'radius.test.example', maxVersion: 'TLSv1.2' },
      user: { identity: 'alice', password: ALICE_PASSWORD },
      machine: { identity: 'host/machine1', password: MACHINE_PASSWORD },
    });
    const r = await runTeapOverRadius(p, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com' });
    expect(r.outcome).toBe('accept');
    expect(r.mppeMatches).toBe(true);
  });
});

describe.each(serverTlsEngines())('attack 2 over RADIUS: Request-Action(Success) with a Phase-1 certificate instead of the required inner method, %s TLS engine', (engine) => {
  beforeAll(() => useServerTlsEngine(engine));
  afterAll(() => useServerTlsEngine(undefined));
  let s: TeapRadius;
  beforeAll(async () => {
    s = await startTeapRadius({ policy: { clientCertificate: 'optional', certificateOnly: false, sequence: [{ methods: ['eap-mschapv2'] }] } }, 'TLSv1.3');
  });
  afterAll(async () => s.close());

  test.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: Access-Reject, Error 2002 in the tunnel, cause logged', async (version) => {
    const seen: TeapTlv[][] = [];
    let replaced = false;
    const p = peer(s, {
      user: { identity: 'alice', password: ALICE_PASSWORD },
      tls: { cert: readFileSync(join(s.dir, 'client.pem')), key: readFileSync(join(s.dir, 'client.key')), maxVersion: version },
    }, {
      outgoing: (tlvs, fromServer) => {
        if (replaced || !fromServer.some((t) => t.kind === 'eap-payload')) return tlvs;
        replaced = true;
        return [{ kind: 'request-action', mandatory: false, status: ResultStatus.Success, action: RequestActionAction.ProcessTlv, tlvs: [] }];
      },
    }, seen);
    const r = await runTeapOverRadius(p, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com' });
    expect(replaced).toBe(true);
    expect(p.tlsProtocol).toBe(version);
    expect(r.outcome).toBe('reject');
    expect(r.mppeMatches).toBe(false);
    const last = seen[seen.length - 1]!;
    expect(last.some((t) => t.kind === 'result' && t.status === ResultStatus.Failure)).toBe(true);
    expect(last.find((t) => t.kind === 'error')).toMatchObject({ code: 2002 });
    expect(logged(s, /Request-Action \(Status=1\) instead of answering step 1/)).toBe(true);
  });

  test('with the certificate and the inner method honestly run: Access-Accept', async () => {
    const p = new TeapPeer({
      outerIdentity: 'anonymous@example.com',
      tls: { ca: readFileSync(join(s.dir, 'ca.pem')), servername: 'radius.test.example', cert: readFileSync(join(s.dir, 'client.pem')), key: readFileSync(join(s.dir, 'client.key')) },
      user: { identity: 'alice', password: ALICE_PASSWORD },
    });
    const r = await runTeapOverRadius(p, { host: '127.0.0.1', port: s.port, secret: SECRET, userName: 'anonymous@example.com' });
    expect(r.outcome).toBe('accept');
    expect(r.mppeMatches).toBe(true);
  });
});
