#!/usr/bin/env node
// Server CPU per EAP round trip that opens a conversation: an Access-Request with an
// EAP-Response/Identity from a station of its own, answered with the first EAP-Request of the
// method the identity selects (EAP-TLS's Start for the default `anonymous`, EAP-NOOB's type 1 for
// `noob@eap-noob.arpa`). Beside scripts/status-server-floor.mjs, the difference is what the EAP
// layers cost on top of the RADIUS round trip: the conversation's admission and State, the method's
// start, the reply's EAP-Message (docs/benchmarks.md, "What a round trip costs").
//
//   npm run build && node scripts/eap-first-round.mjs [COUNT] [IDENTITY]
//
// Starts `gangway serve` on a temporary data directory (eap.maxSessions raised so that no
// conversation is evicted), sends COUNT/2 unmeasured and COUNT measured requests from 8 clients,
// and prints the server's CPU time per request from /proc. The conversations are left to time out.
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
const { encodeEap } = await import(join(root, 'dist/eap-methods/eap-packet.js'));
const { AttributeType } = await import(join(root, 'dist/radius/dictionary.js'));

const count = Number(process.argv[2] ?? 20000);
const identity = process.argv[3] ?? 'anonymous';
if (!Number.isInteger(count) || count < 1000 || count > 500_000) {
  console.error('usage: node scripts/eap-first-round.mjs [COUNT 1000…500000] [IDENTITY]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'gangway-first-round-'));
const port = await freeUdpPort();
const init = await initDataDir(join(dir, 'data'), { radiusPort: port });
// warn: an info line per request would be measured too.
const configText = readFileSync(init.config, 'utf8')
  .replace(/level: info/, 'level: warn')
  .replace(/^eap:\n/m, 'eap:\n  maxSessions: 1000000\n  idleTimeoutSeconds: 3600\n');
writeFileSync(init.config, configText, { mode: 0o600 });
const server = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--data', init.dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
const clients = Array.from({ length: 8 }, () => new RadiusClient({ host: '127.0.0.1', port, secret: init.radius.secret, initialTimeoutMs: 2000, maxRetransmissions: 0, maxDurationMs: 2000 }));
const text = new TextEncoder();
let station = 0;
const request = () => {
  const s = station++;
  const mac = ['02', '00', ...[24, 16, 8, 0].map((shift) => ((s >>> shift) & 255).toString(16).padStart(2, '0'))].join('-');
  return {
    attributes: [
      { type: AttributeType.UserName, value: text.encode(identity) },
      { type: AttributeType.CallingStationId, value: text.encode(mac) },
      { type: AttributeType.NasIpAddress, value: Uint8Array.of(127, 0, 0, 1) },
      { type: AttributeType.EapMessage, value: encodeEap({ code: 2, identifier: 0, type: 1, data: text.encode(identity) }) },
    ],
  };
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
  const first = await clients[0].send(request());
  if (first.packet.code !== 11) throw new Error(`expected an Access-Challenge, got code ${first.packet.code}`);
  const run = async (n) => {
    let sent = 0;
    await Promise.all(clients.map(async (c) => {
      while (sent++ < n) await c.send(request());
    }));
  };
  await run(count / 2);
  const before = processCpuSeconds(server.pid);
  const started = performance.now();
  await run(count);
  const cpu = processCpuSeconds(server.pid) - before;
  const wall = (performance.now() - started) / 1000;
  console.log(`first EAP round (${identity}): ${((cpu * 1e6) / count).toFixed(1)} µs of server CPU per round trip (${count} conversations opened, ${(count / wall).toFixed(0)}/s, server at ${((100 * cpu) / wall).toFixed(0)} % of a core)`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
