import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type * as tls from 'node:tls';
import { TeapPeer } from '../../peer/teap/teap-peer.js';
import { runTeapOverRadius } from '../../peer/teap/radius-runner.js';
import type { InnerPeerMethodName, TeapPeerCredentials } from '../../peer/teap/inner-methods.js';
import { createLog } from '../../util/log.js';
import type { CliIo } from '../io.js';
import { parseServer } from '../server-address.js';

const USAGE = `usage: gangway teap-peer --server HOST:PORT --secret S --ca FILE --server-name NAME [options]

  --identity ID            outer EAP identity (default anonymous@<realm of --user or server name>)
  --user NAME              inner user identity;  --password PW  its password
  --user-cert F --user-key F   inner EAP-TLS credentials for the user
  --machine NAME           inner machine identity;  --machine-password PW
  --methods LIST           inner methods to allow, in order: eap-mschapv2,eap-tls,basic-password
  --cert F --key F         Phase-1 client certificate (certificate-only servers, TEAP-BRSKI IDevID)
  --tls13                  allow TLS 1.3 (default: TLS 1.2 only, like wpa_supplicant 2.10)
  --compat NAME=VALUE      TEAP compatibility switch (repeatable), see docs/teap.md
  --fragment-size N        TLS octets per TEAP fragment (default 1398)
  --framed-mtu N           Framed-MTU in Access-Requests (default 1400)
  --show-keys              print the MSK/EMSK (secret!) in the result
  --json                   machine-readable result
  --debug                  log the conversation to stderr
Exit status: 0 Access-Accept with matching MS-MPPE keys, 1 rejected or keys differ, 2 usage, 3 error.
`;


/** `gangway teap-peer`: authenticate once with TEAP over RADIUS and report the result. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        secret: { type: 'string' },
        ca: { type: 'string' },
        'server-name': { type: 'string' },
        identity: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'user-cert': { type: 'string' },
        'user-key': { type: 'string' },
        machine: { type: 'string' },
        'machine-password': { type: 'string' },
        methods: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        tls13: { type: 'boolean', default: false },
        compat: { type: 'string', multiple: true },
        'fragment-size': { type: 'string' },
        'framed-mtu': { type: 'string' },
        'show-keys': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        debug: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  const server = v.server ? parseServer(v.server) : undefined;
  if (!server || !v.secret || !v.ca || !v['server-name']) {
    io.stderr(USAGE);
    return 2;
  }
  const compat: Record<string, unknown> = {};
  for (const c of v.compat ?? []) {
    const [k, val] = c.split('=', 2);
    if (!k || val === undefined) {
      io.stderr(`--compat expects NAME=VALUE, got "${c}"\n`);
      return 2;
    }
    compat[k] = val === 'true' ? true : val === 'false' ? false : val;
  }
  const fragmentSize = v['fragment-size'] !== undefined ? Number(v['fragment-size']) : undefined;
  const framedMtu = v['framed-mtu'] !== undefined ? Number(v['framed-mtu']) : undefined;
  if ((fragmentSize !== undefined && !(fragmentSize >= 64 && fragmentSize <= 16384)) || (framedMtu !== undefined && !(framedMtu >= 64 && framedMtu <= 4096))) {
    io.stderr(`--fragment-size must be 64..16384 and --framed-mtu 64..4096\n`);
    return 2;
  }

  let ca: Buffer;
  let outerTls: tls.ConnectionOptions;
  let user: TeapPeerCredentials | undefined;
  let machine: TeapPeerCredentials | undefined;
  try {
    ca = readFileSync(v.ca);
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
    io.stderr(`${(err as Error).message}\n`);
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
    io.stderr(`${(err as Error).message}\n`);
    return 2;
  }
  const r = await runTeapOverRadius(peer, {
    host: server.host,
    port: server.port,
    secret: v.secret,
    userName: outerIdentity,
    ...(framedMtu !== undefined ? { framedMtu } : {}),
  });
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
  if (v.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(Object.entries(report).map(([k, val]) => `${k}: ${val}`).join('\n') + '\n');
  if (ok) return 0;
  return r.outcome === 'error' ? 3 : 1;
}
