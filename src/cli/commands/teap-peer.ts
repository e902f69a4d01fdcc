import { readFileSync } from 'node:fs';
import type * as tls from 'node:tls';
import { TeapPeer } from '../../peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../peer/teap/radius-runner.js';
import type { InnerPeerMethodName, TeapPeerCredentials } from '../../peer/teap/inner-methods.js';
import { createLog } from '../../util/log.js';
import type { CliIo } from '../io.js';
import { parseServer, resolveServer } from '../server-address.js';
import { UsageError, defineCommand, integerOption, runCommand, type OptionValues } from '../command.js';
import { firstSilenceNotice, noReplyHint } from '../no-reply-hint.js';
import { RadiusClient } from '../../radius/client.js';

export const spec = defineCommand({
  name: 'teap-peer',
  summary: 'authenticate to a RADIUS server with our TEAP peer',
  synopsis: ['teap-peer --server HOST:PORT --secret S --ca FILE --server-name NAME [options]'],
  description: 'Runs one TEAP (RFC 9930) authentication over RADIUS, as a NAS and a supplicant would together.',
  options: {
    server: { type: 'string', value: 'HOST:PORT', help: 'RADIUS server (IP address or host name; [IPv6]:PORT)' },
    secret: { type: 'string', value: 'S', help: 'the RADIUS shared secret for this client' },
    ca: { type: 'string', value: 'FILE', help: 'CA certificate(s) the server\'s certificate must chain to (PEM)' },
    'server-name': { type: 'string', value: 'NAME', help: 'name the server\'s certificate must carry' },
    identity: { type: 'string', value: 'ID', help: 'outer EAP identity (default anonymous@<realm of --user or server name>)' },
    user: { type: 'string', value: 'NAME', help: 'inner user identity' },
    password: { type: 'string', value: 'PW', help: 'the user\'s password' },
    'user-cert': { type: 'string', value: 'FILE', help: 'inner EAP-TLS certificate for the user (with --user-key)' },
    'user-key': { type: 'string', value: 'FILE', help: 'its private key' },
    machine: { type: 'string', value: 'NAME', help: 'inner machine identity' },
    'machine-password': { type: 'string', value: 'PW', help: 'the machine\'s password' },
    methods: { type: 'string', value: 'LIST', help: 'inner methods to allow, in order: eap-mschapv2,eap-tls,basic-password' },
    cert: { type: 'string', value: 'FILE', help: 'Phase-1 client certificate (certificate-only servers, TEAP-BRSKI IDevID)' },
    key: { type: 'string', value: 'FILE', help: 'its private key' },
    tls13: { type: 'boolean', help: 'allow TLS 1.3 (default: TLS 1.2 only, like wpa_supplicant 2.10)' },
    compat: { type: 'string', multiple: true, value: 'NAME=VALUE', help: 'TEAP compatibility switch (repeatable), see docs/teap.md' },
    'fragment-size': { type: 'string', value: 'N', help: 'TLS octets per TEAP fragment (default 1398)' },
    'framed-mtu': { type: 'string', value: 'N', help: 'Framed-MTU in Access-Requests (default 1400)' },
    'show-keys': { type: 'boolean', help: 'print the MSK/EMSK (secret!) in the result' },
    json: { type: 'boolean', help: 'machine-readable result' },
    debug: { type: 'boolean', help: 'log the conversation to stderr' },
  },
  epilog: 'Exit status: 0 Access-Accept with matching MS-MPPE keys, 1 rejected or keys differ, 2 usage, 3 error.',
});

/** `gangway teap-peer`: authenticate once with TEAP over RADIUS and report the result. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values: v }) => {
    if (!v.server || !v.secret || !v.ca || !v['server-name']) throw new UsageError('--server, --secret, --ca and --server-name are required');
    const parsedServer = parseServer(v.server);
    if (!parsedServer) throw new UsageError(`--server must be HOST:PORT or [IPv6]:PORT, not "${v.server}"`);
    const compat: Record<string, unknown> = {};
    for (const c of v.compat) {
      const [k, val] = c.split('=', 2);
      if (!k || val === undefined) throw new UsageError(`--compat expects NAME=VALUE, got "${c}"`);
      compat[k] = val === 'true' ? true : val === 'false' ? false : val;
    }
    const fragmentSize = integerOption(v['fragment-size'], 'fragment-size', 64, 16384);
    const framedMtu = integerOption(v['framed-mtu'], 'framed-mtu', 64, 4096);
    return authenticate(v, parsedServer, compat, fragmentSize, framedMtu, io);
  });
}

async function authenticate(
  v: OptionValues<typeof spec.options>,
  parsedServer: { host: string; port: number },
  compat: Record<string, unknown>,
  fragmentSize: number | undefined,
  framedMtu: number | undefined,
  io: CliIo,
): Promise<number> {
  let ca: Buffer;
  let outerTls: tls.ConnectionOptions;
  let user: TeapPeerCredentials | undefined;
  let machine: TeapPeerCredentials | undefined;
  try {
    ca = readFileSync(v.ca!);
    outerTls = {
      ca,
      servername: v['server-name'],
      minVersion: 'TLSv1.2',
      maxVersion: v.tls13 ? 'TLSv1.3' : 'TLSv1.2',
      ...(v.cert && v.key ? { cert: readFileSync(v.cert), key: readFileSync(v.key) } : {}),
    };
    const methods = v.methods ? (v.methods.split(',').map((s) => s.trim()) as InnerPeerMethodName[]) : undefined;
    if (v.user) {
      user = {
        identity: v.user,
        ...(v.password !== undefined ? { password: v.password } : {}),
        ...(v['user-cert'] && v['user-key'] ? { tls: { ca, servername: v['server-name'], cert: readFileSync(v['user-cert']), key: readFileSync(v['user-key']) } } : {}),
        ...(methods ? { methods } : {}),
      };
    }
    if (v.machine) {
      machine = { identity: v.machine, ...(v['machine-password'] !== undefined ? { password: v['machine-password'] } : {}), ...(methods ? { methods } : {}) };
    }
  } catch (err) {
    io.stderr(`gangway teap-peer: ${(err as Error).message}\n`);
    return 2;
  }
  const realm = v.user?.includes('@') ? v.user.slice(v.user.indexOf('@') + 1) : v['server-name'];
  const outerIdentity = v.identity ?? `anonymous@${realm}`;

  let peer: TeapPeer;
  try {
    peer = new TeapPeer({
      outerIdentity,
      ...(user ? { user } : {}),
      ...(machine ? { machine } : {}),
      tls: outerTls,
      compat,
      ...(fragmentSize !== undefined ? { fragmentSize } : {}),
      ...(v.debug ? { log: createLog('debug', process.stderr) } : {}),
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let server;
  try {
    server = await resolveServer(parsedServer);
  } catch (err) {
    io.stderr(`${(err as Error).message}\n`);
    return 3;
  }
  const client = new RadiusClient({ host: server.host, port: server.port, secret: v.secret!, onRetransmit: firstSilenceNotice(io.stderr, v.server!) });
  let r;
  try {
    r = await runTeapOverRadius(peer, {
      host: server.host,
      port: server.port,
      secret: v.secret!,
      userName: outerIdentity,
      client,
      ...(framedMtu !== undefined ? { framedMtu } : {}),
    });
  } finally {
    await client.close();
  }
  const ok = r.outcome === 'accept' && r.peer?.kind === 'success' && r.mppeMatches;
  const hex = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('hex') : undefined);
  const report = {
    outcome: r.outcome,
    ok,
    rounds: r.rounds,
    ...(r.reason ? { reason: r.reason } : {}),
    mppeKeysMatch: r.mppeMatches,
    mschapv2ImskOrder: peer.detectedMschapV2Order ?? null,
    tls: peer.tlsProtocol,
    ...(r.peer?.kind === 'success' ? { sessionId: hex(r.peer.sessionId) } : {}),
    ...(v['show-keys'] && r.peer?.kind === 'success' ? { msk: hex(r.peer.msk), emsk: hex(r.peer.emsk) } : {}),
  };
  const hint = noReplyHint(r.reason, v.server!);
  if (hint !== undefined) io.stderr(`${hint}\n`);
  if (v.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(Object.entries(report).map(([k, val]) => `${k}: ${val}`).join('\n') + '\n');
  if (ok) return 0;
  return r.outcome === 'error' ? 3 : 1;
}
