/**
 * `gangway serve` reads its RADIUS ports with the addon's UDP listener (native/udp.c) when it is
 * built, and with node:dgram when GANGWAY_NATIVE_UDP=0: the start line says which, and either one
 * answers EAP-TLS authentications and stops cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failedDemoEapTlsRuns, initDemoDataDir, spawnServe, type ServeProcess } from '../helpers/demo-serve.js';
import { nativeUdpLoaded } from '../helpers/udp-engines.js';

const SECRET = 'serve-udp-secret';

describe('gangway serve: the UDP listener', () => {
  let dir: string;
  let serve: ServeProcess | undefined;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'gangway-serve-udp-')); });
  afterAll(async () => {
    await serve?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, NodeJS.ProcessEnv, 'native' | 'node'][] = [['node:dgram (GANGWAY_NATIVE_UDP=0)', { GANGWAY_NATIVE_UDP: '0' }, 'node']];
  if (nativeUdpLoaded()) cases.push(['the native listener (default)', {}, 'native']);

  test.each(cases)('%s: says so at start, answers EAP-TLS, stops with status 0', async (_name, env, expected) => {
    const { data, port } = await initDemoDataDir(join(dir, expected), SECRET);
    serve = spawnServe(data, { env });
    expect(await serve.listening()).toMatchObject({ udp: expected });
    // Each socket says which listener reads it, too.
    expect(serve.lines().filter((l) => l.msg === 'RADIUS server listening').map((l) => l.udp)).toEqual([expected]);
    expect(await failedDemoEapTlsRuns(serve, data, port, SECRET, 10)).toEqual([]);
    expect(await serve.stop()).toBe(0);
    serve = undefined;
  }, 120_000);
});
