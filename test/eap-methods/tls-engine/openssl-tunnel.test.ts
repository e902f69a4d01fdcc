/**
 * The native OpenSSL engine against itself and against node:tls: handshakes in both roles, the same
 * keying material at both ends, refusals with alerts, and no TLS 1.3 session tickets.
 */
import 'reflect-metadata';
import { X509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type * as tls from 'node:tls';
import { createTlsServerContext, type TlsServerContext, type TlsServerContextOptions } from '../../../src/eap-methods/tls-engine/server-context.js';
import { createTlsClientContext, type TlsClientContext, type TlsClientContextOptions } from '../../../src/eap-methods/tls-engine/client-context.js';
import type { TlsEngineName, TlsTunnel } from '../../../src/eap-methods/tls-tunnel.js';
import { issueCrl } from '../../../src/pki/crl.js';
import { issue } from '../../../src/pki/demo-pki.js';
import { roguePki, testPki } from '../../helpers/pki.js';
import { opensslEngineLoaded } from '../../helpers/tls-engines.js';

const maybe = opensslEngineLoaded() ? describe : describe.skip;

const ALERT = 21;

async function serverOptions(over: Partial<TlsServerContextOptions> = {}): Promise<TlsServerContextOptions> {
  const pki = await testPki();
  return { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, ...over };
}

async function clientOptions(over: Partial<TlsClientContextOptions> = {}): Promise<TlsClientContextOptions> {
  const pki = await testPki();
  return { cert: pki.client.certPem, key: pki.client.keyPem, ca: pki.ca.certPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', serverName: 'radius.test.example', ...over };
}

interface Outcome {
  client: TlsTunnel;
  server: TlsTunnel;
  /** What the server produced in answer to the client's last handshake flight. */
  serverAfterClientFinished: Uint8Array;
}

/** Passes flights between the two ends until neither has anything to say. */
async function handshake(client: TlsTunnel, server: TlsTunnel): Promise<Outcome> {
  await client.start();
  let toServer = client.takeOutgoing();
  let serverAfterClientFinished: Uint8Array = new Uint8Array(0);
  for (let round = 0; round < 10 && toServer.length > 0; round++) {
    const wasHandshaking = server.state === 'handshaking';
    await server.feed(toServer);
    const toClient = server.takeOutgoing();
    if (wasHandshaking && server.state !== 'handshaking') serverAfterClientFinished = toClient;
    if (toClient.length === 0) break;
    await client.feed(toClient);
    toServer = client.takeOutgoing();
  }
  return { client, server, serverAfterClientFinished };
}

async function pair(serverEngine: TlsEngineName, clientEngine: TlsEngineName, s: Partial<TlsServerContextOptions> = {}, c: Partial<TlsClientContextOptions> = {}): Promise<Outcome> {
  const server = createTlsServerContext(await serverOptions(s), serverEngine).newTunnel();
  const client = createTlsClientContext(await clientOptions(c), clientEngine).newTunnel();
  return handshake(client, server);
}

function dispose(o: Outcome): void {
  o.client.dispose();
  o.server.dispose();
}

/** What a new tunnel of `server` sends in answer to a ClientHello of `client`: the certificates of its TLS 1.2 Certificate message. */
async function certificatesSent(server: TlsServerContext, client: TlsClientContext): Promise<Buffer[]> {
  const s = server.newTunnel();
  const c = client.newTunnel();
  try {
    await c.start();
    await s.feed(c.takeOutgoing());
    return certificatesInFlight(s.takeOutgoing());
  } finally {
    c.dispose();
    s.dispose();
  }
}

/** The certificates of the TLS 1.2 Certificate handshake message in a plaintext server flight (RFC 5246 §7.4.2). */
function certificatesInFlight(flight: Uint8Array): Buffer[] {
  const b = Buffer.from(flight);
  let handshake = Buffer.alloc(0);
  for (let at = 0; at + 5 <= b.length; at += 5 + b.readUInt16BE(at + 3)) {
    if (b[at] === 22) handshake = Buffer.concat([handshake, b.subarray(at + 5, at + 5 + b.readUInt16BE(at + 3))]);
  }
  for (let at = 0; at + 4 <= handshake.length; at += 4 + handshake.readUIntBE(at + 1, 3)) {
    if (handshake[at] !== 11) continue;
    const list = handshake.subarray(at + 7, at + 7 + handshake.readUIntBE(at + 4, 3));
    const out: Buffer[] = [];
    for (let c = 0; c + 3 <= list.length; c += 3 + list.readUIntBE(c, 3)) out.push(Buffer.from(list.subarray(c + 3, c + 3 + list.readUIntBE(c, 3))));
    return out;
  }
  throw new Error('no Certificate message in the flight');
}

const VERSIONS: tls.SecureVersion[] = ['TLSv1.2', 'TLSv1.3'];
const PAIRS: [TlsEngineName, TlsEngineName][] = [['openssl', 'node'], ['node', 'openssl'], ['openssl', 'openssl']];

maybe('OpenSSL TLS engine', () => {
  describe.each(PAIRS)('server %s, client %s', (serverEngine, clientEngine) => {
    test.each(VERSIONS)('%s: handshake with client certificate, both ends agree on every session fact', async (version) => {
      const pki = await testPki();
      const o = await pair(serverEngine, clientEngine, { minVersion: version, maxVersion: version }, { minVersion: version, maxVersion: version });
      try {
        expect([o.server.state, o.client.state]).toEqual(['established', 'established']);
        expect(o.server.engine).toBe(serverEngine);
        expect(o.client.engine).toBe(clientEngine);
        expect(o.server.protocol).toBe(version);
        expect(o.client.protocol).toBe(version);
        expect(o.server.cipher).toEqual(o.client.cipher);
        expect(o.server.cipher?.standardName).toMatch(/^TLS_/);
        expect(o.server.authorized).toBe(true);
        expect(o.server.authorizationError).toBeUndefined();
        expect(o.server.isSessionReused()).toBe(false);
        const peer = o.server.peerIdentity();
        expect(peer).toMatchObject({ identity: 'alice', source: 'subject CN', deviceId: `serial:${new X509Certificate(pki.client.certPem).serialNumber}` });
        // The grant carries `der` as it is: the certificate alone, in a buffer of its own (a view into
        // a larger one would be cloned whole wherever the grant is posted or copied).
        expect(Buffer.from(peer!.der).equals(new X509Certificate(pki.client.certPem).raw)).toBe(true);
        expect([Buffer.isBuffer(peer!.der), peer!.der.byteOffset, peer!.der.buffer.byteLength]).toEqual([false, 0, peer!.der.length]);
        expect(Buffer.from(o.server.ownCertificate()!)).toEqual(new X509Certificate(pki.server.certPem).raw);
        const chain = o.server.peerCertificateChain();
        expect(chain[0]!.raw).toEqual(new X509Certificate(pki.client.certPem).raw);
        expect(chain[chain.length - 1]!.raw).toEqual(new X509Certificate(pki.ca.certPem).raw);
        expect(o.client.peerIdentity()?.identity).toBe('radius.test.example');

        // RFC 5705 / RFC 8446 §7.5 at both ends; the absent context differs from the empty one.
        for (const [length, label, context] of [[128, 'client EAP encryption', undefined], [128, 'client EAP encryption', new Uint8Array(0)], [64, 'EXPORTER_EAP_TLS_Method-Id', new Uint8Array([13])], [32, 'EXPORTER-Channel-Binding', undefined]] as const) {
          const s = o.server.exportKeyingMaterial(length, label, context);
          expect(s).toHaveLength(length);
          expect(Buffer.from(s)).toEqual(Buffer.from(o.client.exportKeyingMaterial(length, label, context)));
        }
        const absent = o.server.exportKeyingMaterial(64, 'EXPORTER-test');
        const empty = o.server.exportKeyingMaterial(64, 'EXPORTER-test', new Uint8Array(0));
        if (version === 'TLSv1.2') expect(Buffer.from(absent)).not.toEqual(Buffer.from(empty));
        // TLS 1.3 mixes the length into the derivation: 32 octets are not a prefix of 64.
        if (version === 'TLSv1.3') expect(Buffer.from(o.server.exportKeyingMaterial(32, 'EXPORTER-test'))).not.toEqual(Buffer.from(absent.subarray(0, 32)));

        // Finished messages (tls-unique, TEAP Session-Id): ours is the peer's peer-Finished.
        expect(o.server.getFinished()).toBeDefined();
        expect(Buffer.from(o.server.getFinished()!)).toEqual(Buffer.from(o.client.getPeerFinished()!));
        expect(Buffer.from(o.server.getPeerFinished()!)).toEqual(Buffer.from(o.client.getFinished()!));

        // Application data both ways after the handshake.
        await o.server.writeApplicationData(new Uint8Array([0]));
        await o.client.feed(o.server.takeOutgoing());
        expect(Array.from(o.client.takeApplicationData())).toEqual([0]);
        await o.client.writeApplicationData(Buffer.from('inner TLVs'));
        await o.server.feed(o.client.takeOutgoing());
        expect(Buffer.from(o.server.takeApplicationData()).toString()).toBe('inner TLVs');
      } finally {
        dispose(o);
      }
    });
  });

  test('TLS 1.3: the OpenSSL server sends no NewSessionTicket (RFC 9190 §2.1.2, RFC 9427); node:tls does', async () => {
    const ours = await pair('openssl', 'node', { minVersion: 'TLSv1.3' });
    const node = await pair('node', 'node', { minVersion: 'TLSv1.3' });
    try {
      expect(ours.server.state).toBe('established');
      expect(ours.serverAfterClientFinished).toHaveLength(0);
      // The contrast that motivates the engine: node:tls cannot stop its tickets.
      expect(node.serverAfterClientFinished.length).toBeGreaterThan(0);
    } finally {
      dispose(ours);
      dispose(node);
    }
  });

  test.each(VERSIONS)('%s: a client certificate from another CA is refused with a TLS alert', async (version) => {
    const rogue = await roguePki();
    const server = createTlsServerContext(await serverOptions({ minVersion: version, maxVersion: version }), 'openssl').newTunnel();
    const client = createTlsClientContext(await clientOptions({ cert: rogue.client.certPem, key: rogue.client.keyPem, minVersion: version, maxVersion: version }), 'node').newTunnel();
    const o = await handshake(client, server);
    try {
      expect(server.state).toBe('failed');
      expect(server.failure?.message).toMatch(/certificate verify failed/);
      expect(server.failure?.message).toMatch(/sent fatal alert: unknown CA/);
      expect(client.state).toBe('failed');
    } finally {
      dispose(o);
    }
  });

  test('a missing client certificate is refused when required, and recorded (not refused) when the method judges it', async () => {
    const required = await pair('openssl', 'node', {}, { cert: undefined, key: undefined } as Partial<TlsClientContextOptions>);
    const judged = await pair('openssl', 'node', { rejectUnauthorized: false }, { cert: undefined, key: undefined } as Partial<TlsClientContextOptions>);
    try {
      expect(required.server.state).toBe('failed');
      expect(required.server.failure?.message).toMatch(/peer did not return a certificate|certificate required/);
      expect(judged.server.state).toBe('established');
      expect(judged.server.authorized).toBe(false);
      expect(judged.server.authorizationError).toBe('UNABLE_TO_GET_ISSUER_CERT');
      expect(judged.server.peerIdentity()).toBeUndefined();
    } finally {
      dispose(required);
      dispose(judged);
    }
  });

  test('an untrusted certificate the method judges itself completes the handshake unauthorized, with the reason', async () => {
    const rogue = await roguePki();
    const o = await pair('openssl', 'node', { rejectUnauthorized: false }, { cert: rogue.client.certPem, key: rogue.client.keyPem });
    const node = await pair('node', 'node', { rejectUnauthorized: false }, { cert: rogue.client.certPem, key: rogue.client.keyPem });
    try {
      expect(o.server.state).toBe('established');
      expect(o.server.authorized).toBe(false);
      expect(o.server.authorizationError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      // The same name node:tls gives, which TEAP's Error TLV reason carries.
      expect(node.server.authorizationError).toBe(o.server.authorizationError);
      expect(o.server.peerIdentity()?.identity).toBe('mallory');
      expect(o.server.peerCertificateChain()).toHaveLength(1);
    } finally {
      dispose(o);
      dispose(node);
    }
  });

  test('a client certificate revoked by a configured CRL is refused; an unrevoked one passes', async () => {
    const pki = await testPki();
    const serial = new X509Certificate(pki.client.certPem).serialNumber.toLowerCase();
    const revoking = await issueCrl(pki.ca.certPem, pki.ca.keyPem, [serial]);
    const other = await issueCrl(pki.ca.certPem, pki.ca.keyPem, ['01']);
    const refused = await pair('openssl', 'node', { crl: revoking });
    const passed = await pair('openssl', 'node', { crl: other });
    try {
      expect(refused.server.state).toBe('failed');
      expect(refused.server.failure?.message).toMatch(/CERT_REVOKED/);
      expect(refused.server.failure?.message).toMatch(/sent fatal alert: certificate revoked/);
      expect(passed.server.state).toBe('established');
      expect(passed.server.authorized).toBe(true);
    } finally {
      dispose(refused);
      dispose(passed);
    }
  });

  test('the chain the server sends (TLS 1.2 Certificate message) is the one OpenSSL built at each handshake, though now built with the context', async () => {
    const pki = await testPki();
    const rogue = await roguePki();
    const der = (pem: string): Buffer => new X509Certificate(pem).raw;
    const crl = await issueCrl(pki.ca.certPem, pki.ca.keyPem, ['01']);
    const client = createTlsClientContext(await clientOptions({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'openssl');
    const sent = async (over: Partial<TlsServerContextOptions>): Promise<Buffer[]> =>
      certificatesSent(createTlsServerContext(await serverOptions({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ...over }), 'openssl'), client);
    // Given alone, with its issuer in the trust store: the issuer follows it, root as it is.
    expect(await sent({})).toEqual([der(pki.server.certPem), der(pki.ca.certPem)]);
    // CRL checking on the store changes nothing in what is sent (no CRL covers the server's own issuer check here).
    expect(await sent({ crl })).toEqual([der(pki.server.certPem), der(pki.ca.certPem)]);
    // Its issuer not in the store: it goes alone.
    expect(await sent({ ca: rogue.ca.certPem, requestCert: false })).toEqual([der(pki.server.certPem)]);
    // Given with its chain: that chain, as given.
    expect(await sent({ cert: `${pki.server.certPem.trimEnd()}\n${pki.ca.certPem}`, ca: rogue.ca.certPem, requestCert: false })).toEqual([der(pki.server.certPem), der(pki.ca.certPem)]);
    // Each handshake of one context sends the same.
    const context = createTlsServerContext(await serverOptions({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'openssl');
    for (let i = 0; i < 3; i++) expect(await certificatesSent(context, client)).toEqual([der(pki.server.certPem), der(pki.ca.certPem)]);
  });

  test('a renewed CA of the same name: the chain sent follows the time of the handshake, not that of the context', async () => {
    // Two self-signed CAs of one subject and key: the first valid only until t0 + 2 s, the second
    // only from then. A context built before the change-over must send the second one after it.
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    const changeOver = new Date(t0 + 2000);
    const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
    const ca = (serialNumber: string, notBefore: Date, notAfter: Date): Promise<x509.X509Certificate> => x509.X509CertificateGenerator.createSelfSigned({
      serialNumber, name: 'CN=Gangway Renewed Test CA', notBefore, notAfter, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), ski],
    });
    const expiring = await ca('01', new Date(t0 - 3_600_000), changeOver);
    const renewed = await ca('02', new Date(changeOver.getTime() + 1000), new Date(t0 + 86_400_000));
    const server = await issue(renewed, keys.privateKey, { subject: 'CN=radius.test.example', notBefore: new Date(t0 - 3_600_000), notAfter: new Date(t0 + 86_400_000), eku: [x509.ExtendedKeyUsage.serverAuth], dnsName: 'radius.test.example' });
    const context = createTlsServerContext({ cert: server.certPem, key: server.keyPem, ca: [expiring.toString('pem'), renewed.toString('pem')], minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', requestCert: false, rejectUnauthorized: false }, 'openssl');
    const client = createTlsClientContext(await clientOptions({ cert: undefined, key: undefined, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'openssl');
    const leaf = new X509Certificate(server.certPem).raw;
    expect(await certificatesSent(context, client)).toEqual([leaf, Buffer.from(expiring.rawData)]);
    await new Promise((r) => setTimeout(r, changeOver.getTime() + 2500 - Date.now()));
    expect(await certificatesSent(context, client)).toEqual([leaf, Buffer.from(renewed.rawData)]);
  }, 15_000);

  test('a malformed ClientHello: failure with a reason and an alert record to send, no throw', async () => {
    const server = createTlsServerContext(await serverOptions(), 'openssl').newTunnel();
    try {
      // A handshake record holding a ClientHello that claims 4 octets of body and has none.
      await server.feed(Buffer.from([22, 3, 1, 0, 4, 1, 0, 0, 4]));
      await server.feed(Buffer.from([22, 3, 1, 0, 4, 0, 0, 0, 0]));
      expect(server.state).toBe('failed');
      expect(server.failure?.message).toMatch(/SSL routines/);
      expect(server.failure?.message).toMatch(/sent fatal alert/);
      const out = server.takeOutgoing();
      expect(out[0]).toBe(ALERT);
      // Once failed, more input is ignored.
      await server.feed(Buffer.from([22, 3, 3, 0, 1, 1]));
      expect(server.state).toBe('failed');
      expect(() => server.exportKeyingMaterial(32, 'x')).toThrow(/not completed/);
    } finally {
      server.dispose();
    }
  });

  test('text instead of TLS fails at once with a reason', async () => {
    const server = createTlsServerContext(await serverOptions(), 'openssl').newTunnel();
    try {
      await server.feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      expect(server.state).toBe('failed');
      expect(server.failure?.message).toMatch(/http request|wrong version number|SSL routines/);
    } finally {
      server.dispose();
    }
  });

  test('bad configuration is a clear error at context creation', async () => {
    const pki = await testPki();
    const other = await roguePki();
    await expect(serverOptions({ key: other.server.keyPem }).then((o) => createTlsServerContext(o, 'openssl'))).rejects.toThrow(/key values mismatch|does not match/);
    await expect(serverOptions({ ca: 'not a certificate' }).then((o) => createTlsServerContext(o, 'openssl'))).rejects.toThrow(/no PEM certificate/);
    await expect(serverOptions({ crl: pki.ca.certPem }).then((o) => createTlsServerContext(o, 'openssl'))).rejects.toThrow(/no PEM CRL/);
    await expect(serverOptions({ ciphers: 'NO-SUCH-CIPHER' }).then((o) => createTlsServerContext(o, 'openssl'))).rejects.toThrow(/cipher/);
  });

  test('a disposed tunnel refuses further use with an error, and dispose twice is harmless', async () => {
    const server = createTlsServerContext(await serverOptions(), 'openssl').newTunnel();
    server.dispose();
    server.dispose();
    expect(server.state).toBe('closed');
    await expect(server.feed(new Uint8Array([22]))).resolves.toBeUndefined();
    expect(server.takeOutgoing()).toHaveLength(0);
    expect(() => server.getFinished()).toThrow(/disposed/);
  });
});
