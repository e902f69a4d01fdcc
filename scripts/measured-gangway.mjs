// For the round-trip scripts (status-server-floor.mjs, eap-first-round.mjs): `gangway serve` as a
// child on a temporary data directory and a free loopback port, with 8 RADIUS clients once it
// answers Status-Server, and the server's CPU seconds from /proc.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { initDataDir } = await import(join(root, 'dist/cli/init.js'));
const { RadiusClient } = await import(join(root, 'dist/radius/client.js'));
const { freeUdpPort } = await import(join(root, 'dist/bench/udp-port.js'));
const { processCpuSeconds } = await import(join(root, 'dist/bench/proc-stats.js'));

/**
 * `configure` rewrites gangway.yaml's text. The log level is warn already: an info line per
 * request would be measured too. `stop()` ends the server and removes the directory.
 */
export async function startMeasuredGangway(configure = (text) => text) {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-measured-'));
  const port = await freeUdpPort();
  const init = await initDataDir(join(dir, 'data'), { radiusPort: port });
  writeFileSync(init.config, configure(readFileSync(init.config, 'utf8').replace(/level: info/, 'level: warn')), { mode: 0o600 });
  const server = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--data', init.dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const clients = Array.from({ length: 8 }, () => new RadiusClient({ host: '127.0.0.1', port, secret: init.radius.secret, initialTimeoutMs: 2000, maxRetransmissions: 0, maxDurationMs: 2000 }));
  const stop = async () => {
    await Promise.all(clients.map((c) => c.close()));
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let tries = 0; ; tries++) {
      try {
        await clients[0].statusServer();
        break;
      } catch (err) {
        if (tries > 150) throw new Error(`gangway did not answer Status-Server: ${err.message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { clients, cpuSeconds: () => processCpuSeconds(server.pid), stop };
}

/** Sends `n` requests in all, `send(client)` each, the 8 clients one at a time each. */
export async function sendFromAll(clients, n, send) {
  let sent = 0;
  await Promise.all(clients.map(async (c) => {
    while (sent++ < n) await send(c);
  }));
}
