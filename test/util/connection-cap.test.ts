import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { capConnections, type ConnectionCaps, type ConnectionLimit } from '../../src/util/connection-cap.js';
import { unmapIpv4Address } from '../../src/util/ip-address.js';
import { ask, holdConnections, REFUSED, showPerAddressCap, showTotalCap, type CapTarget } from '../helpers/connection-caps.js';
import { MemoryLog } from '../helpers/silent-log.js';

interface Listener {
  server: Server;
  target: CapTarget;
  log: MemoryLog;
  refused: ConnectionLimit[];
  /** The remote addresses the request handler saw, as Node gave them. */
  seen: string[];
  close(): Promise<void>;
}

async function listen(caps: ConnectionCaps, host = '127.0.0.1'): Promise<Listener> {
  const log = new MemoryLog();
  const refused: ConnectionLimit[] = [];
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.socket.remoteAddress ?? '');
    res.end('ok');
  });
  capConnections(server, { listener: 'test', caps, log, onRefused: (limit) => refused.push(limit) });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    target: { url: `http://127.0.0.1:${port}`, path: '/', status: 200 },
    log,
    refused,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const warnings = (log: MemoryLog): { obj: object; msg?: string }[] => log.lines.filter((l) => l.level === 'warn');

describe('unmapIpv4Address (the connection caps count, and the RADIUS client table looks up, the same address)', () => {
  test.each([
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:c000:201', '::ffff:c000:201'],
    ['::1', '::1'],
  ])('%s counts as %s', (remote, counted) => {
    expect(unmapIpv4Address(remote)).toBe(counted);
  });
});

describe('capConnections on a plain HTTP listener', () => {
  test('per address: the share of 127.0.0.1 full, its next connections are closed unanswered; 127.0.0.2 is served; a closed one frees a place', async () => {
    const l = await listen({ total: 100, perAddress: 3 });
    try {
      await showPerAddressCap(l.target, 3);
      // Two, and any a retry met before the server had seen the freed connection close.
      expect(l.refused.slice(0, 2)).toEqual(['address', 'address']);
      expect(new Set(l.refused)).toEqual(new Set(['address']));
    } finally {
      await l.close();
    }
  });

  test('in total: a third address is refused while two fill the listener, and served once one leaves', async () => {
    const l = await listen({ total: 5, perAddress: 3 });
    try {
      await showTotalCap(l.target, { total: 5, perAddress: 3 });
      expect(l.refused.slice(0, 2)).toEqual(['total', 'total']);
      expect(new Set(l.refused)).toEqual(new Set(['total']));
    } finally {
      await l.close();
    }
  });

  test('one warning per address and one for the full listener, however many refusals; the rest at debug', async () => {
    const l = await listen({ total: 4, perAddress: 2 });
    try {
      const held = await holdConnections(l.target, '127.0.0.1', 2);
      for (let i = 0; i < 10; i++) expect(await ask(l.target, '127.0.0.1')).toEqual(REFUSED);
      held.push(...(await holdConnections(l.target, '127.0.0.2', 2)));
      for (let i = 0; i < 10; i++) expect(await ask(l.target, '127.0.0.3')).toEqual(REFUSED);
      await Promise.all(held.map((c) => c.close()));
      expect(warnings(l.log)).toEqual([
        { level: 'warn', obj: { listener: 'test', remote: '127.0.0.1', limit: 2 }, msg: 'test: connection refused: too many open from one address' },
        { level: 'warn', obj: { listener: 'test', remote: '127.0.0.3', limit: 4 }, msg: 'test: connection refused: the listener holds as many connections as it may' },
      ]);
      expect(l.log.lines.filter((x) => x.level === 'debug')).toHaveLength(18);
      expect(l.refused.filter((x) => x === 'address')).toHaveLength(10);
      expect(l.refused.filter((x) => x === 'total')).toHaveLength(10);
    } finally {
      await l.close();
    }
  });

  test('an IPv4 client of a dual-stack listener (::ffff:127.0.0.1) is counted and logged as 127.0.0.1', async () => {
    const l = await listen({ total: 100, perAddress: 2 }, '::');
    try {
      expect(await ask(l.target, '127.0.0.1')).toEqual({ status: 200 });
      expect(l.seen).toEqual(['::ffff:127.0.0.1']);
      await showPerAddressCap(l.target, 2);
      expect(warnings(l.log).map((w) => w.obj)).toEqual([{ listener: 'test', remote: '127.0.0.1', limit: 2 }]);
    } finally {
      await l.close();
    }
  });

  test.each([
    [{ total: 0, perAddress: 1 }],
    [{ total: 10, perAddress: 0 }],
    [{ total: 1.5, perAddress: 1 }],
  ])('%j is refused', (caps) => {
    expect(() => capConnections(createServer(), { listener: 'test', caps, log: new MemoryLog() })).toThrow(RangeError);
  });
});
