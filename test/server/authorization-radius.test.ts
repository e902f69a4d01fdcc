/**
 * The credential policy over real UDP RADIUS against a whole Gangway (gangway init data directory,
 * gangway.yaml with an authorization section and a brski registrar): what the NAS receives in the
 * Access-Accept for an EAP-NOOB device bound to alice, an LDevID of manufacturer acme over
 * EAP-TLS, a certificate carrying a MUD URL, and a plain certificate user.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { deliverOobFromUrl } from '../../src/noob/oob.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { resolvePeerConfig } from '../../src/peer/noob/config.js';
import { peerOobToShow } from '../../src/peer/noob/oob.js';
import { RadiusEapTransport } from '../../src/peer/noob/radius-transport.js';
import { runNoobPeer } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../src/peer/noob/state.js';
import { TeapPeer } from '../../src/peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../src/peer/teap/radius-runner.js';
import { EapTlsEapPeer } from '../../src/peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../../src/peer/radius-runner.js';
import { createPledgeCsr } from '../../src/peer/brski/csr.js';
import { RegistrarCa } from '../../src/pki/ca/registrar-ca.js';
import { generateDemoPki } from '../../src/pki/demo-pki.js';
import { ID_PE_MUD_URL, mudUrlExtensionValue } from '../../src/pki/mud-url.js';
import { RadiusClient } from '../../src/radius/client.js';
import { AttributeType, RadiusCode, type RadiusPacket } from '../../src/radius/index.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { issueOddClientCert } from '../helpers/odd-certs.js';
import { roguePki } from '../helpers/pki.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** A RADIUS client that keeps every reply, so the test can read the Accept's attributes. */
function recordingClient(g: TestGangway): { client: RadiusClient; replies: RadiusPacket[] } {
  const client = new RadiusClient({ host: '127.0.0.1', port: g.port, secret: g.secret });
  const replies: RadiusPacket[] = [];
  const send = client.send.bind(client);
  client.send = (async (...args: Parameters<RadiusClient['send']>) => {
    const r = await send(...args);
    replies.push(r.packet);
    return r;
  }) as RadiusClient['send'];
  return { client, replies };
}

/** Tunnel-Type, Tunnel-Medium-Type and Tunnel-Private-Group-ID as (tag, value) text. */
function vlanOf(p: RadiusPacket | undefined): { tunnelType?: number; medium?: number; group?: string; filterId?: string; sessionTimeout?: number } {
  if (!p) return {};
  const one = (t: number) => p.attributes.filter((a) => a.type === t);
  const [tt] = one(AttributeType.TunnelType);
  const [tm] = one(AttributeType.TunnelMediumType);
  const [pg] = one(AttributeType.TunnelPrivateGroupId);
  const [fi] = one(AttributeType.FilterId);
  const [st] = one(AttributeType.SessionTimeout);
  return {
    ...(tt ? { tunnelType: Buffer.from(tt.value).readUIntBE(1, 3) } : {}),
    ...(tm ? { medium: Buffer.from(tm.value).readUIntBE(1, 3) } : {}),
    // Tag octet 0x00 first (RFC 2868), then the VLAN as text.
    ...(pg ? { group: Buffer.from(pg.value).subarray(pg.value[0]! <= 0x1f ? 1 : 0).toString() } : {}),
    ...(fi ? { filterId: Buffer.from(fi.value).toString() } : {}),
    ...(st ? { sessionTimeout: Buffer.from(st.value).readUInt32BE(0) } : {}),
  };
}

describe('credential policy over RADIUS: what the NAS gets in the Access-Accept', () => {
  let g: TestGangway;
  let work: string;
  /** Another CA in tls.ca for ordinary device and user certificates (the demo CA is the registrar's: only its LDevIDs pass). */
  let devicesCa: { certPem: string; keyPem: string };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gangway-policy-'));
    // A manufacturer for the brski section; its IDevIDs play no part here, only the LDevIDs our CA issues.
    const maker = join(work, 'acme-ca.pem');
    writeFileSync(maker, (await roguePki()).ca.certPem);
    devicesCa = (await generateDemoPki('devices.test.example')).ca;
    const devicesCaFile = join(work, 'devices-ca.pem');
    writeFileSync(devicesCaFile, devicesCa.certPem);
    g = await startTestGangway({
      configure: (doc) => {
        doc.tls = { ...(doc.tls as object), ca: ['pki/ca.pem', devicesCaFile] };
        doc.brski = { manufacturers: [{ name: 'acme', ca: maker, approval: 'auto' }] };
        // A certificate of our own CAs is enough in TEAP (an LDevID re-authenticating); others use a password.
        doc.methods = {
          ...(doc.methods as object),
          teap: {
            policy: { sequence: [{ methods: ['eap-mschapv2'] }] },
            policies: { device: { clientCertificate: 'required', certificateOnly: true, sequence: [] } },
            rules: [{ certificate: 'domain', policy: 'device' }],
          },
        };
        doc.authorization = {
          sessionTimeout: 3600,
          devices: { noob: { vlan: 40 }, brski: { vlan: 30, filterId: 'iot-acl' }, user: { vlan: 10 } },
          users: { alice: { vlan: 20 } },
          mud: [{ url: 'https://mud.acme.example/*', vlan: 50 }],
          mudPeerInfoMember: 'MUDURL',
        };
      },
    });
    await g.running.stores.users.add({ name: 'alice' });
  }, 30_000);

  afterAll(async () => {
    await g.close();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * An EAP-NOOB device with this PeerInfo on its own station: its first exchange (Initial, refused
   * until registered) has run and its OOB message has been delivered for `account`, as
   * `gangway noob-oob URL --user` and the portal do. `connect` runs its next exchange over RADIUS.
   */
  async function registeredNoobDevice(peerInfo: Record<string, string>, callingStationId: string, account: string) {
    const config = resolvePeerConfig({ peerInfo, directions: 1 });
    const state = new MemoryPeerStateStore();
    const connect = async () => {
      const { client, replies } = recordingClient(g);
      try {
        const transport = new RadiusEapTransport({ client, secret: g.secret, callingStationId, nasIdentifier: 'test-ap' });
        const outcome = await runNoobPeer({ transport, store: state, config, log: new MemoryLog() });
        return { outcome, last: replies.at(-1) };
      } finally {
        await client.close();
      }
    };
    expect((await connect()).outcome).toMatchObject({ result: 'failure', exchange: 'initial' });
    const shown = peerOobToShow(await state.load(), { config, now: new Date(), random: systemRandom })!;
    if (shown.created) await state.save(shown.state);
    expect((await deliverOobFromUrl(g.running.stores.noobPeers, shown.text, account)).ok).toBe(true);
    return connect;
  }

  test('an EAP-NOOB device bound to alice (VLAN 20): Tunnel-Type=VLAN(13), Tunnel-Medium-Type=802(6), Tunnel-Private-Group-Id=20; a VLAN set for alice in the portal takes over', async () => {
    const connect = await registeredNoobDevice({ Make: 'Acme', Type: 'Thermostat', Serial: 'T-7' }, '02-00-5e-00-53-20', 'alice');
    const completion = await connect();
    expect(completion.outcome).toMatchObject({ result: 'success', exchange: 'completion', mppe: 'match' });
    expect(completion.last?.code).toBe(RadiusCode.AccessAccept);
    expect(vlanOf(completion.last)).toEqual({ tunnelType: 13, medium: 6, group: '20', sessionTimeout: 3600 });
    expect(g.log.lines.some((l) => l.msg === 'Access-Accept' && (l.obj as { vlan?: number; policy?: Record<string, string> }).vlan === 20 && (l.obj as { policy?: Record<string, string> }).policy?.vlan === 'users.alice')).toBe(true);

    await g.running.stores.userPolicies.setVlan('alice', 21, 'admin', new Date());
    const reconnect = await connect();
    expect(reconnect.outcome).toMatchObject({ result: 'success', exchange: 'reconnect' });
    expect(vlanOf(reconnect.last)).toMatchObject({ tunnelType: 13, medium: 6, group: '21' });
    await g.running.stores.userPolicies.setVlan('alice', undefined, 'admin', new Date());
  }, 60_000);

  test('an EAP-NOOB device whose PeerInfo names a MUD URL (authorization.mudPeerInfoMember) gets the MUD rule\'s VLAN 50, at Completion and at each Reconnect', async () => {
    const connect = await registeredNoobDevice({ Make: 'Acme', Type: 'Thermostat', Serial: 'T-8', MUDURL: 'https://mud.acme.example/thermostat.json' }, '02-00-5e-00-53-21', 'alice');
    const completion = await connect();
    expect(completion.outcome).toMatchObject({ result: 'success', exchange: 'completion' });
    expect(vlanOf(completion.last)).toEqual({ tunnelType: 13, medium: 6, group: '50', sessionTimeout: 3600 });
    const reconnect = await connect();
    expect(reconnect.outcome).toMatchObject({ result: 'success', exchange: 'reconnect' });
    expect(vlanOf(reconnect.last)).toMatchObject({ tunnelType: 13, medium: 6, group: '50' });
  }, 60_000);

  /** EAP-TLS with a certificate and key, over RADIUS; the Accept packet. */
  async function eapTls(certPem: string, keyPem: string, identity: string): Promise<{ outcome: string; accept?: RadiusPacket }> {
    const { client, replies } = recordingClient(g);
    try {
      const peer = new EapTlsEapPeer({ identity, tls: { cert: certPem, key: keyPem, ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example' } });
      const r = await runEapOverRadius(peer, { host: '127.0.0.1', port: g.port, secret: g.secret, userName: identity, client });
      return { outcome: r.outcome, ...(r.outcome === 'accept' ? { accept: replies.at(-1)! } : {}) };
    } finally {
      await client.close();
    }
  }

  /** An LDevID our registrar CA (gangway init's demo CA) issues to this device, its key, and the CA to revoke it with. */
  async function issuedLdevid(deviceId: string): Promise<{ ca: RegistrarCa; ldevid: { pem: string; serial: string }; key: string }> {
    const ca = await RegistrarCa.open({ directory: join(g.init.dataDir, 'pki'), store: g.running.stores.issuedCertificates, audit: g.running.stores.audit });
    const csr = await createPledgeCsr({ request: { challengePassword: false, ignored: [] } });
    const ldevid = await ca.issueLdevid({ csrDer: csr.der, deviceId });
    return { ca, ldevid, key: csr.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  test('an LDevID of manufacturer acme, issued by our registrar CA, gets the brski policy over EAP-TLS; revoked, it is refused', async () => {
    const { ca, ldevid, key } = await issuedLdevid('acme:SN-42');
    const r = await eapTls(ldevid.pem, key, 'acme:SN-42');
    expect(r.outcome).toBe('accept');
    expect(vlanOf(r.accept)).toEqual({ tunnelType: 13, medium: 6, group: '30', filterId: 'iot-acl', sessionTimeout: 3600 });
    await ca.revoke(ldevid.serial, 'keyCompromise');
    expect((await eapTls(ldevid.pem, key, 'acme:SN-42')).outcome).toBe('reject');
  }, 60_000);

  /** TEAP with a Phase-1 certificate and key, over RADIUS; the Accept packet. */
  async function teapWithCertificate(certPem: string, keyPem: string): Promise<{ outcome: string; accept?: RadiusPacket }> {
    const { client, replies } = recordingClient(g);
    try {
      const peer = new TeapPeer({
        outerIdentity: 'anonymous@devices.example',
        tls: { cert: certPem, key: keyPem, ca: readFileSync(g.init.files.caCert), servername: 'radius.test.example', maxVersion: 'TLSv1.2' },
      });
      const r = await runTeapOverRadius(peer, { host: '127.0.0.1', port: g.port, secret: g.secret, userName: 'anonymous@devices.example', client });
      return { outcome: r.outcome, ...(r.outcome === 'accept' ? { accept: replies.at(-1)! } : {}) };
    } finally {
      await client.close();
    }
  }

  // FAILS at a1877d5: TEAP's Phase 1 judged the LDevID by the CRL file only, the authorizer then
  // found it revoked and made it a plain certificate user: Access-Accept with the user class's VLAN 10.
  test('an LDevID in TEAP Phase 1 gets the brski policy; revoked, it is refused, not demoted to a certificate user', async () => {
    const { ca, ldevid, key } = await issuedLdevid('acme:SN-43');
    const before = await teapWithCertificate(ldevid.pem, key);
    expect(before.outcome).toBe('accept');
    expect(vlanOf(before.accept)).toEqual({ tunnelType: 13, medium: 6, group: '30', filterId: 'iot-acl', sessionTimeout: 3600 });
    await ca.revoke(ldevid.serial, 'keyCompromise');
    expect(await teapWithCertificate(ldevid.pem, key)).toEqual({ outcome: 'reject' });
    expect(g.log.lines.some((l) => /certificate revoked/.test(String((l.obj as { reason?: string }).reason)))).toBe(true);
  }, 60_000);

  test('a certificate with a MUD URL (id-pe-mud-url) gets the VLAN its pattern maps to; without one, the user class', async () => {
    const pki = { ca: devicesCa };
    const mud = await issueOddClientCert(pki.ca.certPem, pki.ca.keyPem, {
      subject: 'CN=lamp-9.devices.example',
      extensions: [new x509.Extension(ID_PE_MUD_URL, false, mudUrlExtensionValue('https://MUD.acme.example/lamps/l9.json'))],
    });
    expect(vlanOf((await eapTls(mud.certPem, mud.keyPem, 'lamp-9')).accept)).toMatchObject({ tunnelType: 13, medium: 6, group: '50' });
    const plain = await issueOddClientCert(pki.ca.certPem, pki.ca.keyPem, { subject: 'CN=laptop-3.corp.example' });
    expect(vlanOf((await eapTls(plain.certPem, plain.keyPem, 'laptop-3')).accept)).toMatchObject({ group: '10' });
    // A person's certificate: their own VLAN.
    const alice = await issueOddClientCert(pki.ca.certPem, pki.ca.keyPem, { subject: 'CN=alice' });
    expect(vlanOf((await eapTls(alice.certPem, alice.keyPem, 'alice')).accept)).toMatchObject({ group: '20' });
  }, 60_000);
});
