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
import { sendFromAll, startMeasuredGangway } from './measured-gangway.mjs';

const count = Number(process.argv[2] ?? 40000);
if (!Number.isInteger(count) || count < 1000) {
  console.error('usage: node scripts/status-server-floor.mjs [COUNT ≥ 1000]');
  process.exit(2);
}
// No warm-up: nothing of EAP runs here.
const gangway = await startMeasuredGangway();
try {
  await sendFromAll(gangway.clients, 20000, (c) => c.statusServer());
  const before = gangway.cpuSeconds();
  const started = performance.now();
  await sendFromAll(gangway.clients, count, (c) => c.statusServer());
  const cpu = gangway.cpuSeconds() - before;
  const wall = (performance.now() - started) / 1000;
  console.log(`Status-Server: ${((cpu * 1e6) / count).toFixed(1)} µs of server CPU per round trip (${count} exchanges, ${(count / wall).toFixed(0)}/s, server at ${((100 * cpu) / wall).toFixed(0)} % of a core)`);
} finally {
  await gangway.stop();
}
