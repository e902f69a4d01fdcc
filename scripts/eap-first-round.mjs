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
import { join } from 'node:path';
import { root, sendFromAll, startMeasuredGangway } from './measured-gangway.mjs';

const { encodeEap } = await import(join(root, 'dist/eap-methods/eap-packet.js'));
const { AttributeType } = await import(join(root, 'dist/radius/dictionary.js'));

const count = Number(process.argv[2] ?? 20000);
const identity = process.argv[3] ?? 'anonymous';
if (!Number.isInteger(count) || count < 1000 || count > 500_000) {
  console.error('usage: node scripts/eap-first-round.mjs [COUNT 1000…500000] [IDENTITY]');
  process.exit(2);
}
const gangway = await startMeasuredGangway((text) => text.replace(/^eap:\n/m, 'eap:\n  maxSessions: 1000000\n  idleTimeoutSeconds: 3600\n'));
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
  const first = await gangway.clients[0].send(request());
  if (first.packet.code !== 11) throw new Error(`expected an Access-Challenge, got code ${first.packet.code}`);
  await sendFromAll(gangway.clients, count / 2, (c) => c.send(request()));
  const before = gangway.cpuSeconds();
  const started = performance.now();
  await sendFromAll(gangway.clients, count, (c) => c.send(request()));
  const cpu = gangway.cpuSeconds() - before;
  const wall = (performance.now() - started) / 1000;
  console.log(`first EAP round (${identity}): ${((cpu * 1e6) / count).toFixed(1)} µs of server CPU per round trip (${count} conversations opened, ${(count / wall).toFixed(0)}/s, server at ${((100 * cpu) / wall).toFixed(0)} % of a core)`);
} finally {
  await gangway.stop();
}
