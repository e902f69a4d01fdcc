import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MasaClient, requestVoucherUrl } from '../../../src/teap-brski/brski/masa-client.js';
import { generateDemoPki, type DemoPki } from '../../../src/pki/demo-pki.js';

/** A scripted MASA on loopback: each test says how it answers. */
let pki: DemoPki;
let server: https.Server;
let port: number;
let handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
const seen: { path: string; contentType: string | undefined; body: Buffer }[] = [];

beforeAll(async () => {
  pki = await generateDemoPki('localhost', 'registrar');
  server = https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ path: req.url ?? '', contentType: req.headers['content-type'], body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, 'localhost', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
});

const RVR = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]);
const client = (o: ConstructorParameters<typeof MasaClient>[0] = {}): MasaClient => new MasaClient({ ca: pki.ca.certPem, ...o });
const url = (): string => `https://localhost:${port}`;

describe('MasaClient (RFC 8995 §5.5) against a scripted MASA over HTTPS on loopback', () => {
  test('requestVoucherUrl: authority only → /.well-known/brski/requestvoucher; a path is kept', () => {
    expect(requestVoucherUrl('masa.example.com:9443').href).toBe('https://masa.example.com:9443/.well-known/brski/requestvoucher');
    expect(requestVoucherUrl('https://masa.example.com/brski/').href).toBe('https://masa.example.com/brski/requestvoucher');
    expect(() => requestVoucherUrl('http://masa.example.com')).toThrow(/not https/);
  });

  test('200: the voucher bytes, posted as raw DER with the voucher-cms+json media type; nothing kept for a second request', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/voucher-cms+json' });
      res.end(Buffer.from([0x30, 0x00]));
    };
    const c = client();
    const r = await c.requestVoucher(url(), RVR);
    expect(r).toEqual({ kind: 'voucher', der: expect.anything(), contentType: 'application/voucher-cms+json' });
    if (r.kind === 'voucher') expect([...r.der]).toEqual([0x30, 0x00]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ path: '/.well-known/brski/requestvoucher', contentType: 'application/voucher-cms+json' });
    expect([...seen[0]!.body]).toEqual([...RVR]);
    // A voucher answers one conversation's request (its nonce): the MASA is asked again.
    expect(await c.requestVoucher(url(), RVR)).toMatchObject({ kind: 'voucher' });
    expect(seen).toHaveLength(2);
  });

  test.each([401, 403, 404, 406, 415])('%i: refused, with the MASA\'s text', async (status) => {
    handler = (_req, _body, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`no voucher for you (${status})`);
    };
    expect(await client().requestVoucher(url(), RVR)).toEqual({ kind: 'refused', status, message: `no voucher for you (${status})` });
  });

  test('500 then 200: one retry within the budget', async () => {
    let n = 0;
    handler = (_req, _body, res) => {
      if (n++ === 0) {
        res.writeHead(500);
        res.end('busy');
      } else {
        res.writeHead(200);
        res.end(Buffer.from([0x30, 0x00]));
      }
    };
    expect((await client({ retries: 1 }).requestVoucher(url(), RVR)).kind).toBe('voucher');
    expect(seen).toHaveLength(2);
  });

  test('a MASA that never answers: unavailable after the budget', async () => {
    handler = () => undefined;
    const t0 = Date.now();
    const r = await client({ timeoutMs: 300, retries: 3 }).requestVoucher(url(), RVR);
    expect(r.kind).toBe('unavailable');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test('nobody listening, or a MASA certificate we do not trust: unavailable', async () => {
    const closed = https.createServer();
    await new Promise<void>((r) => closed.listen(0, 'localhost', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect((await client({ timeoutMs: 1000 }).requestVoucher(`https://localhost:${deadPort}`, RVR)).kind).toBe('unavailable');
    const other = await generateDemoPki('localhost', 'x');
    handler = (_req, _body, res) => res.end('x');
    expect((await new MasaClient({ ca: other.ca.certPem, timeoutMs: 1000 }).requestVoucher(url(), RVR)).kind).toBe('unavailable');
  });

  test('an oversized answer is refused before it is buffered whole', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(200_000, 0x41));
    };
    expect(await client({ maxResponseBytes: 65536 }).requestVoucher(url(), RVR)).toMatchObject({ kind: 'refused', message: /larger than 65536/ });
  });

  test('one redirect is followed, a second is refused; 202 is unavailable', async () => {
    handler = (req, _body, res) => {
      if (req.url === '/.well-known/brski/requestvoucher') {
        res.writeHead(307, { location: '/elsewhere/requestvoucher' });
        res.end();
      } else if (req.url === '/elsewhere/requestvoucher') {
        res.writeHead(200);
        res.end(Buffer.from([0x30, 0x00]));
      }
    };
    expect((await client().requestVoucher(url(), RVR)).kind).toBe('voucher');
    handler = (_req, _body, res) => {
      res.writeHead(307, { location: '/again' });
      res.end();
    };
    expect(await client().requestVoucher(url(), RVR)).toMatchObject({ kind: 'refused', message: 'more than one redirect' });
    handler = (_req, _body, res) => {
      res.writeHead(202, { 'retry-after': '30' });
      res.end();
    };
    expect(await client().requestVoucher(url(), RVR)).toMatchObject({ kind: 'unavailable', reason: /Retry-After: 30/ });
  });
});
