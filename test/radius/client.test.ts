import { stringAttribute } from '../../src/radius/attributes.js';
import { RadiusClient } from '../../src/radius/client.js';
import { RadiusClientError } from '../../src/radius/errors.js';
import { RadiusCode, decodePacket } from '../../src/radius/packet.js';
import { verifyAccountingStyleRequest } from '../../src/radius/request.js';
import { encodeResponse } from '../../src/radius/response.js';
import { getMppeKeys } from '../../src/radius/salt-encryption.js';
import { RadiusServer, type AccessReply, type AccessRequestHandler } from '../../src/radius/server.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { UdpPeer, waitFor } from './udp-helpers.js';

const SECRET = 'client-test-secret';
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

async function serve(handler: AccessRequestHandler): Promise<number> {
  const server = new RadiusServer({ clients: [{ name: 'lo', address: '127.0.0.1', secret: SECRET }], log: new MemoryLog(), handler });
  open.push(server);
  return (await server.listen('127.0.0.1', 0)).port;
}

function client(port: number, extra: Partial<ConstructorParameters<typeof RadiusClient>[0]> = {}): RadiusClient {
  const c = new RadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 200, ...extra });
  open.push(c);
  return c;
}

describe('RadiusClient', () => {
  test('PAP Access-Request against our server; MPPE keys decrypt with the returned authenticator', async () => {
    const keys = { recv: new Uint8Array(32).fill(7), send: new Uint8Array(32).fill(9) };
    const port = await serve(async (ctx) => {
      const ok = Buffer.from(ctx.userPassword() ?? []).toString() === 'arctangent';
      return ok ? { code: 2, eapMessage: Uint8Array.of(3, 1, 0, 4), mppe: keys } : { code: 3 };
    });
    const c = client(port);
    const res = await c.send({ attributes: [stringAttribute(1, 'nemo')], userPassword: 'arctangent' });
    expect(res.packet.code).toBe(RadiusCode.AccessAccept);
    const got = getMppeKeys(res.packet, SECRET, res.requestAuthenticator);
    expect(Buffer.from(got.recv!).equals(Buffer.from(keys.recv))).toBe(true);
    const bad = await c.send({ attributes: [stringAttribute(1, 'nemo')], userPassword: 'wrong' });
    expect(bad.packet.code).toBe(RadiusCode.AccessReject);
    expect(c.outstanding).toBe(0);
  });

  test('Status-Server', async () => {
    const port = await serve(async () => null);
    const res = await client(port).statusServer();
    expect(res.packet.code).toBe(RadiusCode.AccessAccept);
  });

  test('retransmits identical bytes until a reply comes', async () => {
    let calls = 0;
    const port = await serve(async (): Promise<AccessReply | null> => (++calls < 3 ? null : { code: 3 }));
    const res = await client(port, { initialTimeoutMs: 30 }).send({ attributes: [stringAttribute(1, 'x')] });
    expect(res.packet.code).toBe(3);
    expect(calls).toBe(3);
  });

  test('gives up after maxRetransmissions with a timeout error', async () => {
    const server = await UdpPeer.open();
    open.push(server);
    const c = client(server.port, { initialTimeoutMs: 20, maxRetransmissions: 2 });
    const started = Date.now();
    await expect(c.send({ attributes: [] })).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    // One transmission plus two retransmissions, all identical.
    const seen = [await server.nextMessage(100), await server.nextMessage(100), await server.nextMessage(100)];
    expect(seen.every((m) => m !== undefined && Buffer.from(m).equals(Buffer.from(seen[0]!)))).toBe(true);
    expect(await server.nextMessage(50)).toBeUndefined();
  });

  test('a wrong secret: the server stays silent, onRetransmit tells the caller before the final timeout', async () => {
    const port = await serve(async () => ({ code: 3 }));
    const seen: { identifier: number; elapsedMs: number }[] = [];
    const c = client(port, { secret: 'not-the-client-secret', initialTimeoutMs: 20, maxRetransmissions: 2, onRetransmit: (r) => void seen.push(r) });
    await expect(c.send({ attributes: [stringAttribute(1, 'x')] })).rejects.toMatchObject({ code: 'timeout' });
    expect(seen).toHaveLength(2);
    expect(seen[0]!.elapsedMs).toBeGreaterThanOrEqual(15);
    expect(seen[1]!.identifier).toBe(seen[0]!.identifier);
  });

  test('Status-Server is not retransmitted', async () => {
    const server = await UdpPeer.open();
    open.push(server);
    await expect(client(server.port, { initialTimeoutMs: 30 }).statusServer()).rejects.toMatchObject({ code: 'timeout' });
    expect(await server.nextMessage(50)).toBeDefined();
    expect(await server.nextMessage(50)).toBeUndefined();
  });

  test('forged replies are ignored; the genuine one is accepted', async () => {
    const server = await UdpPeer.open();
    open.push(server);
    const pending = client(server.port, { initialTimeoutMs: 2000 }).send({ attributes: [] });
    const got = (await server.next())!;
    const req = decodePacket(got.msg);
    const reply = (secret: string): Uint8Array =>
      encodeResponse({ code: 2, identifier: req.identifier, requestAuthenticator: req.authenticator, attributes: [], secret });
    await server.send(reply('wrong-secret'), got.rinfo.port);
    await server.send(encodeResponse({ code: 2, identifier: req.identifier, requestAuthenticator: req.authenticator, attributes: [], secret: SECRET, messageAuthenticator: false }), got.rinfo.port);
    await server.send(reply(SECRET), got.rinfo.port);
    expect((await pending).packet.code).toBe(2);
  });

  test('CoA-Request to a NAS: accounting-style authenticator, ACK without MA accepted', async () => {
    const nas = await UdpPeer.open();
    open.push(nas);
    const pending = client(nas.port).send({ code: RadiusCode.CoaRequest, attributes: [stringAttribute(1, 'nemo')], messageAuthenticator: true });
    const got = (await nas.next())!;
    const req = verifyAccountingStyleRequest(got.msg, SECRET);
    expect(req.attributes[0]!.type).toBe(80);
    await nas.send(encodeResponse({ code: RadiusCode.CoaAck, identifier: req.identifier, requestAuthenticator: req.authenticator, attributes: [], secret: SECRET, messageAuthenticator: false }), got.rinfo.port);
    expect((await pending).packet.code).toBe(RadiusCode.CoaAck);
  });

  test('256 outstanding requests at most; close rejects what is pending', async () => {
    const server = await UdpPeer.open();
    open.push(server);
    const c = new RadiusClient({ host: '127.0.0.1', port: server.port, secret: SECRET, initialTimeoutMs: 60_000 });
    const all = Array.from({ length: 256 }, () => c.send({ attributes: [] }).catch((e: unknown) => e));
    await waitFor(() => c.outstanding === 256);
    await expect(c.send({ attributes: [] })).rejects.toMatchObject({ code: 'busy' });
    await c.close();
    const results = await Promise.all(all);
    expect(results.every((e) => e instanceof RadiusClientError && e.code === 'closed')).toBe(true);
    await expect(c.send({ attributes: [] })).rejects.toMatchObject({ code: 'closed' });
  });

  test('host must be an IP literal', () => {
    expect(() => new RadiusClient({ host: 'radius.example', port: 1812, secret: SECRET })).toThrow();
  });
});
