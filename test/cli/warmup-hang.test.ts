/**
 * The start-up warm-up's time limit when its throwaway server does not close: the start must not
 * wait on it: once the authentications are over, the start goes on after a short grace, not at
 * the wall time plus the authentication timeout plus the grace (22 s by default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { warmUpBeforeStart } from '../../src/cli/warmup.js';
import type * as Server from '../../src/server.js';
import { MemoryLog } from '../helpers/silent-log.js';

// The throwaway server runs, answers, and then its close() never resolves (its sockets and store
// are released, but something awaited in close hangs: a CRL refresh, a store's pool).
jest.mock('../../src/server.js', () => {
  const actual = jest.requireActual<typeof Server>('../../src/server.js');
  return {
    ...actual,
    startGangway: async (...args: Parameters<typeof actual.startGangway>) => {
      const gangway = await actual.startGangway(...args);
      return {
        ...gangway,
        close: () => {
          void gangway.close();
          return new Promise<void>(() => undefined);
        },
      };
    },
  };
});

const config = parseConfig({
  radius: { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] },
  server: { warmup: 2 },
}, '/data');

describe('a throwaway server that never closes', () => {
  let parent: string;
  beforeAll(() => { parent = mkdtempSync(join(tmpdir(), 'gangway-warmup-hang-')); });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  test('the warm-up returns soon after its authentications, not at its time limit', async () => {
    const wallMs = 8_000;
    const t0 = performance.now();
    const outcome = await warmUpBeforeStart(config, new MemoryLog(), { parent, wallMs });
    const took = performance.now() - t0;
    // Its authentications were done long before the limit.
    expect(outcome).toMatchObject({ authentications: 4, failed: 0 });
    expect(took).toBeLessThan(wallMs);
  }, 30_000);
});
