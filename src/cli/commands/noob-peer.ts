import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
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
import { parseServer } from '../server-address.js';

const USAGE = `usage: gangway noob-peer --state FILE [--server HOST:PORT --secret S] [options]

Our EAP-NOOB device (RFC 9140). Its registration lives in the state file.
  --state FILE          peer state (created if missing; holds keys: keep it private)
  --server HOST:PORT    RADIUS server (IP literal) and --secret its shared secret
  --oob CODE            read a server-to-peer code (URL or P=..&N=..&H=..), then connect
  --show                print this device's OOB message (text and QR code) and exit
  --wait                keep connecting (every SleepTime) until registered; --max-attempts N (default 60)
  --peer-info JSON      PeerInfo object (default {"PeerName":"<hostname>","Manufacturer":"Gangway"})
  --identity NAI        identity before registration (default @noob.eap.arpa, then noob@eap-noob.arpa)
  --directions 1|2|3    OOB directions this device can do: 1 show a code, 2 read one, 3 both (default 3)
  --prefer 1|2          direction to pick when the server offers both (default 1)
  --cryptosuites LIST   e.g. 2,1 (preference order; default 1,2)
  --kdf-length-byte     RFC-literal KDF (D1);  --noobid-form concat|json (D2);  --reconnect-mac-nai nai|empty (D3)
  --compat vogeltak     interoperate with the Aalto/Vogeltak hostapd
  --nas-identifier S  --calling-station-id S   RADIUS attributes to send
  --json                machine-readable result;  --debug  log the conversation to stderr
Exit status: 0 authenticated (MS-MPPE keys match), 1 rejected, 2 usage, 3 error, 4 waiting for the OOB step.
`;


/** Test seams: a transport instead of RADIUS, a sleep that does not wait, a clock. */
export interface NoobPeerCommandDeps {
  transport?: EapTransport;
  sleep?: (ms: number) => Promise<void>;
  clock?: () => Date;
  log?: Log;
}

async function printOob(io: CliIo, store: PeerStateStore, config: ResolvedNoobPeerConfig, now: Date, json: boolean): Promise<boolean> {
  const state = await store.load();
  const shown = peerOobToShow(state, { config, now, random: systemRandom });
  if (!shown) return false;
  // The Noob must be on disk before anyone can see it: otherwise a crash loses a code in use.
  if (shown.created) await store.save(shown.state);
  if (json) {
    io.stdout(`${JSON.stringify({ oob: shown.text })}\n`);
  } else {
    const qr = await QRCode.toString(shown.text, { type: 'terminal', small: true });
    io.stdout(`Scan this with a phone that is logged in to the network's portal:\n${qr}\n${shown.text}\n`);
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
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        state: { type: 'string' },
        server: { type: 'string' },
        secret: { type: 'string' },
        oob: { type: 'string' },
        show: { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        'max-attempts': { type: 'string' },
        'peer-info': { type: 'string' },
        identity: { type: 'string' },
        directions: { type: 'string' },
        prefer: { type: 'string' },
        cryptosuites: { type: 'string' },
        'kdf-length-byte': { type: 'boolean', default: false },
        'noobid-form': { type: 'string' },
        'reconnect-mac-nai': { type: 'string' },
        compat: { type: 'string' },
        'nas-identifier': { type: 'string' },
        'calling-station-id': { type: 'string' },
        json: { type: 'boolean', default: false },
        debug: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (!v.state) {
    io.stderr(USAGE);
    return 2;
  }
  const server = v.server !== undefined ? parseServer(v.server) : undefined;
  const online = !v.show;
  if (online && !deps.transport && (!server || !v.secret)) {
    io.stderr(`--server HOST:PORT and --secret are needed to connect\n${USAGE}`);
    return 2;
  }
  const maxAttempts = v['max-attempts'] !== undefined ? Number(v['max-attempts']) : 60;
  let config: ResolvedNoobPeerConfig;
  try {
    const cfg: NoobPeerConfig = {
      peerInfo: v['peer-info'] ?? { PeerName: hostname(), Manufacturer: 'Gangway' },
      ...(v.identity !== undefined ? { identity: v.identity } : {}),
      ...(v.directions !== undefined ? { directions: Number(v.directions) as 1 | 2 | 3 } : {}),
      ...(v.prefer !== undefined ? { preferredDirection: Number(v.prefer) as 1 | 2 } : {}),
      ...(v.cryptosuites !== undefined ? { cryptosuites: v.cryptosuites.split(',').map(Number) } : {}),
      kdfSuppPrivLengthByte: v['kdf-length-byte'],
      ...(v['noobid-form'] !== undefined ? { noobIdForm: v['noobid-form'] as 'concat' | 'json' } : {}),
      ...(v['reconnect-mac-nai'] !== undefined ? { reconnectMacNai: v['reconnect-mac-nai'] as 'nai' | 'empty' } : {}),
      ...(v.compat !== undefined ? { compat: v.compat as 'none' | 'vogeltak' } : {}),
    };
    if (![undefined, 1, 2, 3].includes(cfg.directions) || ![undefined, 1, 2].includes(cfg.preferredDirection)) throw new Error('--directions is 1..3, --prefer 1 or 2');
    if (![undefined, 'concat', 'json'].includes(cfg.noobIdForm) || ![undefined, 'nai', 'empty'].includes(cfg.reconnectMacNai) || ![undefined, 'none', 'vogeltak'].includes(cfg.compat)) {
      throw new Error('bad --noobid-form, --reconnect-mac-nai or --compat value');
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('--max-attempts must be a positive integer');
    config = resolvePeerConfig(cfg);
  } catch (err) {
    io.stderr(`${(err as Error).message}\n`);
    return 2;
  }

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
      if (!(await printOob(io, store, config, clock(), v.json))) {
        io.stdout(v.json ? '{"oob":null}\n' : 'this device is not waiting to show an OOB message\n');
        return 1;
      }
      return 0;
    }

    const client = deps.transport ? undefined : new RadiusClient({ host: server!.host, port: server!.port, secret: v.secret!, log });
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
        if (o.result === 'success') return o.mppe === 'mismatch' ? 1 : 0;
        const waiting = o.state.state === 1 || o.state.state === 2;
        if (o.state.state === 1 && !v.json) await printOob(io, store, config, clock(), false);
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
    io.stderr(`${(err as Error).message}\n`);
    return 3;
  }
}
