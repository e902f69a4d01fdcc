/**
 * CRL rollback protection across a restart (review finding): the newest CRL the server held of
 * each CA is recorded in the store, so a CRL file swapped back to an older CRL while the server is
 * down is refused at start, as a refresh would refuse it, instead of being loaded as it is.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InitResult } from '../../src/cli/init.js';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { issueCrl } from '../../src/pki/crl.js';
import { startGangway, type RunningGangway } from '../../src/server.js';
import { startTestGangway } from '../helpers/gangway.js';
import { MemoryLog } from '../helpers/silent-log.js';

const DAY = 86_400_000;

describe('CRL rollback protection across a restart', () => {
  let dir: string | undefined;
  let running: RunningGangway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const crlPath = (init: InitResult): string => join(init.dataDir, 'pki', 'ca.crl');
  const crl = (init: InitResult, crlNumber: bigint): Promise<string> =>
    issueCrl(readFileSync(init.files.caCert, 'utf8'), readFileSync(init.files.caKey, 'utf8'), [], { thisUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + DAY), crlNumber });

  test('a CRL older than one held before the restart is refused at start, naming the file; the current one starts', async () => {
    const g = await startTestGangway({
      prepare: async (init) => writeFileSync(crlPath(init), await crl(init, 1n)),
      configure: (doc) => {
        doc.tls = { ...(doc.tls as object | undefined), crl: ['pki/ca.crl'], crlPollSeconds: 0 };
      },
    });
    dir = g.init.dataDir;
    running = g.running;
    // The CA publishes CRL 2 while the server runs.
    writeFileSync(crlPath(g.init), await crl(g.init, 2n));
    expect(await running.refreshCrls()).toMatchObject({ accepted: [crlPath(g.init)], refused: [] });
    await running.close();
    running = undefined;

    // While it is down, the file is swapped back to CRL 1.
    writeFileSync(crlPath(g.init), await crl(g.init, 1n));
    const log = new MemoryLog();
    // A server that starts anyway (the rollback accepted) is closed, so the failure is the assertion's.
    const err = await startGangway(loadConfig(dir), log).then(async (r) => {
      await r.close();
      return r;
    }, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/tls\.crl\[0\]: .*ca\.crl: CRL of .* is older than the newest CRL of that CA held so far \(CRL number 1 < 2, held .*\); install the CA's current CRL/);
    expect(log.lines.find((l) => l.msg?.startsWith('CRL refused at start'))?.obj).toMatchObject({ file: crlPath(g.init) });

    // The CA's current CRL (or a newer one) starts the server.
    writeFileSync(crlPath(g.init), await crl(g.init, 2n));
    running = await startGangway(loadConfig(dir), new MemoryLog());
    expect(await running.stores.crlBaselines.list()).toEqual([expect.objectContaining({ crlNumber: 2n })]);
  }, 60_000);
});
