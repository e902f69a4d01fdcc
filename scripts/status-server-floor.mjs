#!/usr/bin/env node
// The floor of one RADIUS round trip in Gangway: server CPU per Status-Server exchange (RFC 5997),
// which is answered in the RADIUS layer — datagram received, decoded, client found, Message-
// Authenticator checked, reply built with its own Message-Authenticator and Response
// Authenticator, sent — with no EAP, no method and no store. A method needing R round trips cannot
// cost less than R times this (docs/benchmarks.md, EAP-NOOB targets).
//
//   npm run build && node scripts/status-server-floor.mjs [COUNT]
//
// Starts `gangway serve` (dist/cli/main.js) on a temporary data directory and a free loopback
// port, sends COUNT (default 40000) Status-Servers from 8 clients after 20000 unmeasured ones, and
// prints the server's CPU time per exchange from /proc.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { initDataDir } = await import(join(root, 'dist/cli/init.js'));
const { RadiusClient } = await import(join(root, 'dist/radius/client.js'));
const { freeUdpPort } = await import(join(root, 'dist/bench/udp-port.js'));
const { processCpuSeconds } = await import(join(root, 'dist/bench/proc-stats.js'));

const count = Number(process.argv[2] ?? 40000);
if (!Number.isInteger(count) || count < 1000) {
  console.error('usage: node scripts/status-server-floor.mjs [COUNT ≥ 1000]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'gangway-floor-'));
const port = await freeUdpPort();
const init = await initDataDir(join(dir, 'data'), { radiusPort: port });
// warn: an info line per request would be measured too; no warm-up: nothing of EAP runs here.
const configText = readFileSync(init.config, 'utf8').replace(/level: info/, 'level: warn');
writeFileSync(init.config, `${configText}\n`, { mode: 0o600 });
const server = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--data', init.dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
const clients = Array.from({ length: 8 }, () => new RadiusClient({ host: '127.0.0.1', port, secret: init.radius.secret, initialTimeoutMs: 2000, maxRetransmissions: 0, maxDurationMs: 2000 }));
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
  const run = async (n) => {
    let sent = 0;
    await Promise.all(clients.map(async (c) => {
      while (sent++ < n) await c.statusServer();
    }));
  };
  await run(20000);
  const before = processCpuSeconds(server.pid);
  const started = performance.now();
  await run(count);
  const cpu = processCpuSeconds(server.pid) - before;
  const wall = (performance.now() - started) / 1000;
  console.log(`Status-Server: ${((cpu * 1e6) / count).toFixed(1)} µs of server CPU per round trip (${count} exchanges, ${(count / wall).toFixed(0)}/s, server at ${((100 * cpu) / wall).toFixed(0)} % of a core)`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
