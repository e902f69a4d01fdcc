/**
 * The reference MASA's connection caps (masa.yaml `maxConnections`, `maxConnectionsPerAddress`;
 * src/util/connection-cap.ts) over HTTPS on loopback.
 */
import { REQUEST_VOUCHER, startTestMasa, type TestMasa } from './harness.js';
import { ask, holdConnections, REFUSED, showPerAddressCap, showTotalCap, type CapTarget } from '../helpers/connection-caps.js';

const target = (masa: TestMasa): CapTarget => ({ url: `https://${masa.authority}`, path: REQUEST_VOUCHER, status: 405 });

describe('MASA: connection caps from masa.yaml', () => {
  test('per address: 127.0.0.1 holding its 3, its next connection is closed before the TLS handshake; 127.0.0.2 is answered; one closed frees a place', async () => {
    const masa = await startTestMasa({ configure: (doc) => Object.assign(doc, { maxConnectionsPerAddress: 3 }) });
    try {
      expect(masa.config.connections).toEqual({ total: 1024, perAddress: 3 });
      await showPerAddressCap(target(masa), 3);
      const refusals = masa.log.lines.filter((l) => l.msg === 'masa: connection refused: too many open from one address');
      expect(refusals.map((l) => [l.level, l.obj])).toEqual([
        ['warn', { listener: 'masa', remote: '127.0.0.1', limit: 3 }],
        ...refusals.slice(1).map((l) => ['debug', l.obj]),
      ]);
      // A refused connection is one budgeted line, not a handshake failure each.
      expect(masa.log.lines.filter((l) => l.msg === 'MASA: TLS handshake failed')).toEqual([]);
    } finally {
      await masa.close();
    }
  });

  test('in total: 5 open from two addresses, a third address is refused, and served once one closes', async () => {
    const masa = await startTestMasa({ configure: (doc) => Object.assign(doc, { maxConnections: 5 }) });
    try {
      // The share per address follows a total set below it.
      expect(masa.config.connections).toEqual({ total: 5, perAddress: 5 });
      await showTotalCap(target(masa), { total: 5, perAddress: 3 });
      const refusals = masa.log.lines.filter((l) => l.msg === 'masa: connection refused: the listener holds as many connections as it may');
      expect(refusals.filter((l) => l.level === 'warn').map((l) => l.obj)).toEqual([{ listener: 'masa', remote: '127.0.0.3', limit: 5 }]);
    } finally {
      await masa.close();
    }
  });

  test('places come back: 150 finished HTTPS exchanges (handshake, answer, close) from one address leave its whole share free', async () => {
    const masa = await startTestMasa({ configure: (doc) => Object.assign(doc, { maxConnectionsPerAddress: 3 }) });
    try {
      const t = target(masa);
      // Three at a time: the share is full while they run, so a place that never came back would
      // refuse the next ones at once.
      for (let i = 0; i < 50; i++) {
        const outcomes = await Promise.all([ask(t, '127.0.0.1'), ask(t, '127.0.0.1'), ask(t, '127.0.0.1')]);
        const answered = outcomes.filter((o) => 'status' in o).length;
        // A place is free once the server has seen the close, which may trail the client's by a turn.
        if (answered < 3) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const held = await holdConnections(t, '127.0.0.1', 3);
      try {
        expect(await ask(t, '127.0.0.1')).toEqual(REFUSED);
        expect(held.filter((c) => c.closed)).toHaveLength(0);
      } finally {
        await Promise.all(held.map((c) => c.close()));
      }
      // And with the three closed, an exchange is answered again.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await ask(t, '127.0.0.1')).toEqual({ status: 405 });
    } finally {
      await masa.close();
    }
  });
});
