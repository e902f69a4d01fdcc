import { hostname } from 'node:os';
import QRCode from 'qrcode';

import { systemRandom } from '../../noob/crypto/random.js';
import { RadiusClient } from '../../radius/client.js';
import { resolvePeerConfig, type NoobPeerConfig, type ResolvedNoobPeerConfig } from '../../peer/noob/config.js';
import { acceptServerOob, peerOobToShow } from '../../peer/noob/oob.js';
import { RadiusEapTransport } from '../../peer/noob/radius-transport.js';
import { runNoobPeer, type ConversationOutcome, type EapTransport } from '../../peer/noob/runner.js';
import { PeerStateFile } from '../../peer/noob/state-file.js';
import type { NoobPeerState, PeerStateStore } from '../../peer/noob/state.js';
import { createLog, silentLog, type Log } from '../../util/log.js';
import type { CliIo } from '../io.js';
import { parseServer, resolveServer } from '../server-address.js';
import { UsageError, defineCommand, integerOption, runCommand } from '../command.js';
import { firstSilenceNotice, noReplyHint } from '../no-reply-hint.js';

export const spec = defineCommand({
  name: 'noob-peer',
  summary: 'run our EAP-NOOB device (peer) against a RADIUS server',
  synopsis: ['noob-peer --state FILE --server HOST:PORT --secret S [options]', 'noob-peer --state FILE --show'],
  description: 'Our EAP-NOOB device (RFC 9140). Its registration lives in the state file.',
  options: {
    state: { type: 'string', value: 'FILE', help: 'peer state (created if missing; holds keys: keep it private)' },
    server: { type: 'string', value: 'HOST:PORT', help: 'RADIUS server (IP address or host name; [IPv6]:PORT)' },
    secret: { type: 'string', value: 'S', help: 'the RADIUS shared secret for this client' },
    oob: { type: 'string', value: 'CODE', help: 'read a server-to-peer code (URL or P=..&N=..&H=..), then connect' },
    show: { type: 'boolean', help: 'print this device\'s OOB message and exit' },
    qr: { type: 'boolean', help: 'print the OOB message as a terminal QR code even when stdout is not a terminal' },
    wait: { type: 'boolean', help: 'keep connecting (every SleepTime) until registered' },
    'max-attempts': { type: 'string', value: 'N', help: 'with --wait: connections before giving up (default 60)' },
    'peer-info': { type: 'string', value: 'JSON', help: 'PeerInfo object (default {"PeerName":"<hostname>","Manufacturer":"Gangway"})' },
    identity: { type: 'string', value: 'NAI', help: 'identity before registration (default @noob.eap.arpa, then noob@eap-noob.arpa)' },
    directions: { type: 'string', value: '1|2|3', help: 'OOB directions this device can do: 1 show a code, 2 read one, 3 both (default 3)' },
    prefer: { type: 'string', value: '1|2', help: 'direction to pick when the server offers both (default 1)' },
    cryptosuites: { type: 'string', value: 'LIST', help: 'e.g. 2,1 (preference order; default 1,2)' },
    'kdf-length-byte': { type: 'boolean', help: 'RFC-literal KDF (switch D1, docs/eap-noob.md)' },
    'noobid-form': { type: 'string', value: 'concat|json', help: 'NoobId hash input (switch D2)' },
    'reconnect-mac-nai': { type: 'string', value: 'nai|empty', help: 'NAI in the Reconnect MACs (switch D3)' },
    compat: { type: 'string', value: 'vogeltak', help: 'interoperate with the Aalto/Vogeltak hostapd' },
    'nas-identifier': { type: 'string', value: 'S', help: 'NAS-Identifier to send' },
    'calling-station-id': { type: 'string', value: 'S', help: 'Calling-Station-Id to send' },
    json: { type: 'boolean', help: 'machine-readable result, one JSON object per line' },
    debug: { type: 'boolean', help: 'log the conversation to stderr' },
  },
  epilog: 'Exit status: 0 authenticated (MS-MPPE keys match), 1 rejected, 2 usage, 3 error, 4 waiting for the OOB step.',
});

/** Test seams: a transport instead of RADIUS, a sleep that does not wait, a clock. */
export interface NoobPeerCommandDeps {
  transport?: EapTransport;
  sleep?: (ms: number) => Promise<void>;
  clock?: () => Date;
  log?: Log;
}

async function printOob(io: CliIo, store: PeerStateStore, config: ResolvedNoobPeerConfig, now: Date, format: 'json' | 'text' | 'text+qr'): Promise<boolean> {
  const state = await store.load();
  const shown = peerOobToShow(state, { config, now, random: systemRandom });
  if (!shown) return false;
  // The Noob must be on disk before anyone can see it: otherwise a crash loses a code in use.
  if (shown.created) await store.save(shown.state);
  if (format === 'json') {
    io.stdout(`${JSON.stringify({ oob: shown.text })}\n`);
  } else {
    // The terminal QR code is made of colour escapes: only for a terminal, or when asked for.
    const qr = format === 'text+qr' ? `${await QRCode.toString(shown.text, { type: 'terminal', small: true })}\n` : '';
    io.stdout(`Scan this with a phone that is logged in to the network's portal:\n${qr}${shown.text}\n`);
  }
  return true;
}

function describe(o: ConversationOutcome): string {
  const s = o.state;
  if (o.result === 'success') return `${o.exchange === 'completion' ? 'registered' : 'authenticated'} as ${s.association?.peerId} (${s.association?.nai}); MS-MPPE keys ${o.mppe}`;
  if (o.serverError !== undefined) return `server sent error ${o.serverError}`;
  if (o.peerError !== undefined) return `we sent error ${o.peerError}`;
  if (o.exchange === 'initial') return `registration started: PeerId ${s.ephemeral?.peerId}; waiting for the OOB step`;
  if (o.exchange === 'waiting') return `still waiting for the OOB step (PeerId ${s.ephemeral?.peerId})`;
  return `failed: ${o.reason ?? 'rejected'}`;
}

/** `gangway noob-peer`: run our EAP-NOOB peer over RADIUS. */
export async function run(argv: string[], io: CliIo, deps: NoobPeerCommandDeps = {}): Promise<number> {
  return runCommand(spec, argv, io, async ({ values: v }) => {
    if (!v.state) throw new UsageError('--state FILE is required');
    const parsedServer = v.server !== undefined ? parseServer(v.server) : undefined;
    if (v.server !== undefined && !parsedServer) throw new UsageError(`--server must be HOST:PORT or [IPv6]:PORT, not "${v.server}"`);
    const online = !v.show;
    if (online && !deps.transport && (!parsedServer || !v.secret)) throw new UsageError('--server HOST:PORT and --secret are needed to connect');
    const maxAttempts = integerOption(v['max-attempts'], 'max-attempts', 1, 100_000) ?? 60;
    const directions = integerOption(v.directions, 'directions', 1, 3) as 1 | 2 | 3 | undefined;
    const prefer = integerOption(v.prefer, 'prefer', 1, 2) as 1 | 2 | undefined;
    if (v['noobid-form'] !== undefined && v['noobid-form'] !== 'concat' && v['noobid-form'] !== 'json') throw new UsageError('--noobid-form is concat or json');
    if (v['reconnect-mac-nai'] !== undefined && v['reconnect-mac-nai'] !== 'nai' && v['reconnect-mac-nai'] !== 'empty') throw new UsageError('--reconnect-mac-nai is nai or empty');
    if (v.compat !== undefined && v.compat !== 'none' && v.compat !== 'vogeltak') throw new UsageError('--compat is vogeltak (or none)');
    let config: ResolvedNoobPeerConfig;
    try {
      const cfg: NoobPeerConfig = {
        peerInfo: v['peer-info'] ?? { PeerName: hostname(), Manufacturer: 'Gangway' },
        ...(v.identity !== undefined ? { identity: v.identity } : {}),
        ...(directions !== undefined ? { directions } : {}),
        ...(prefer !== undefined ? { preferredDirection: prefer } : {}),
        ...(v.cryptosuites !== undefined ? { cryptosuites: v.cryptosuites.split(',').map(Number) } : {}),
        kdfSuppPrivLengthByte: v['kdf-length-byte'],
        ...(v['noobid-form'] !== undefined ? { noobIdForm: v['noobid-form'] } : {}),
        ...(v['reconnect-mac-nai'] !== undefined ? { reconnectMacNai: v['reconnect-mac-nai'] } : {}),
        ...(v.compat !== undefined ? { compat: v.compat } : {}),
      };
      config = resolvePeerConfig(cfg);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const textFormat = v.qr || io.stdoutIsTerminal === true ? 'text+qr' : 'text';

    const clock = deps.clock ?? (() => new Date());
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const log = deps.log ?? (v.debug ? createLog('debug', process.stderr) : silentLog());
    const store = new PeerStateFile(v.state);

    try {
      if (v.oob !== undefined) {
        const r = acceptServerOob(await store.load(), v.oob, { config, now: clock() });
        await store.save(r.state);
        if (!r.ok) {
          io.stdout(v.json ? `${JSON.stringify(r)}\n` : `code refused: ${r.detail}\n`);
          return 1;
        }
        if (!v.json) io.stdout('code accepted; connecting to complete the registration\n');
      }
      if (v.show) {
        if (!(await printOob(io, store, config, clock(), v.json ? 'json' : textFormat))) {
          io.stdout(v.json ? '{"oob":null}\n' : 'this device is not waiting to show an OOB message\n');
          return 1;
        }
        return 0;
      }

      const server = parsedServer ? await resolveServer(parsedServer) : undefined;
      const client = deps.transport ? undefined : new RadiusClient({ host: server!.host, port: server!.port, secret: v.secret!, log, onRetransmit: firstSilenceNotice(io.stderr, v.server!) });
      const transport =
        deps.transport ??
        new RadiusEapTransport({
          client: client!,
          secret: v.secret!,
          ...(v['nas-identifier'] !== undefined ? { nasIdentifier: v['nas-identifier'] } : {}),
          ...(v['calling-station-id'] !== undefined ? { callingStationId: v['calling-station-id'] } : {}),
        });
      try {
        for (let attempt = 1; ; attempt++) {
          const before: NoobPeerState = await store.load();
          if (before.unwantedUntil !== undefined && Date.parse(before.unwantedUntil) > clock().getTime()) {
            io.stderr(`the server asked this device to stay away until ${before.unwantedUntil} (error 2001)\n`);
            return 1;
          }
          const o = await runNoobPeer({ transport, store, config, log, clock });
          io.stdout(v.json ? `${JSON.stringify({ result: o.result, exchange: o.exchange, peerId: o.state.association?.peerId ?? o.state.ephemeral?.peerId, state: o.state.state, mppe: o.mppe, serverError: o.serverError, peerError: o.peerError, reason: o.reason })}\n` : `${describe(o)}\n`);
          const hint = noReplyHint(o.reason, v.server ?? 'the server');
          if (hint !== undefined) io.stderr(`${hint}\n`);
          if (o.result === 'success') return o.mppe === 'mismatch' ? 1 : 0;
          const waiting = o.state.state === 1 || o.state.state === 2;
          if (o.state.state === 1 && !v.json) await printOob(io, store, config, clock(), textFormat);
          if (!waiting) return 1;
          if (!v.wait || attempt >= maxAttempts) return 4;
          // Wait SleepTime (RFC 9140 §3.2.2) unless a code was just read (state 2: connect now).
          const seconds = o.state.state === 2 ? 0 : (o.state.ephemeral?.sleepTime ?? config.sleepTimeDefault);
          await sleep(seconds * 1000);
        }
      } finally {
        await client?.close();
      }
    } catch (err) {
      const message = (err as Error).message;
      io.stderr(`${message}\n`);
      const hint = noReplyHint(message, v.server ?? 'the server');
      if (hint !== undefined) io.stderr(`${hint}\n`);
      return 3;
    }
  });
}
