import QRCode from 'qrcode';

import { loadConfig } from '../../config/config.js';
import { parseNoobMethodConfig, type ResolvedNoobConfig } from '../../noob/config.js';
import { deliverOobFromUrl, issueServerToPeerOob, resetNoobOwner, type DeliverOobResult } from '../../noob/oob.js';
import { oobExpired } from '../../noob/server-state-machine.js';
import type { NoobPeerRecord, NoobPeerStore } from '../../store/noob-peers.js';
import { escapeForTerminal } from '../../util/escape-text.js';
import { createLog } from '../../util/log.js';
import type { CliIo } from '../io.js';
import { SetupError, UsageError, defineCommand, integerOption, runCommand } from '../command.js';
import { DATA_OPTION, dataDirOf, openConfiguredStores, requireDataDir } from '../data-dir.js';

export const spec = defineCommand({
  name: 'noob-oob',
  summary: 'deliver a device\'s EAP-NOOB QR code (URL), or issue/list server-to-device codes',
  synopsis: [
    'noob-oob URL --user NAME|--no-user [--data DIR] [--json]',
    'noob-oob --issue PEERID [--user NAME] [--noob-timeout SECONDS] [--data DIR] [--json]',
    'noob-oob --list [--data DIR] [--json]',
    'noob-oob --reset-owner PEERID [--data DIR] [--json]',
  ],
  description:
    'URL: deliver a device\'s OOB message, what its QR code says: https://…?P=<PeerId>&N=<Noob>&H=<Hoob>\n' +
    '     (or just P=…&N=…&H=…), registering the device to the account NAME (or to none).\n' +
    '--issue: make a code for a device that reads one (server-to-peer), valid for methods.eap-noob.noobTimeout\n' +
    '         or the shorter --noob-timeout. The expiry is stored with the code: a later change of\n' +
    '         noobTimeout does not move it.\n' +
    '--list: registrations waiting for the OOB step, with each stored code and its expiry.\n' +
    '--reset-owner: release a waiting device from the account an earlier delivery bound it to.\n\n' +
    'The OOB URL, code lifetime and limits come from methods.eap-noob in DIR/gangway.yaml, the settings\n' +
    'the server enforces. Text the device supplied (PeerInfo) is printed with control and bidirectional\n' +
    'characters escaped.',
  positionals: { min: 0, max: 1 },
  options: {
    data: DATA_OPTION,
    user: { type: 'string', value: 'NAME', help: 'bind the device to this account (it must exist); once a delivery was accepted the\ndevice stays bound to its account, even if the device later rejects the code —\nonly --reset-owner changes that' },
    'no-user': { type: 'boolean', help: 'deliver without binding the device to any account' },
    'any-user': { type: 'boolean', help: 'with --user: accept a NAME that is not (yet) an account' },
    issue: { type: 'string', value: 'PEERID', help: 'issue a server-to-peer code for this device' },
    'noob-timeout': { type: 'string', value: 'SECONDS', help: 'with --issue: this code\'s lifetime, from 1 to methods.eap-noob.noobTimeout (the default)' },
    list: { type: 'boolean', help: 'list registrations waiting for the OOB step' },
    'reset-owner': { type: 'string', value: 'PEERID', help: 'release a waiting device from its account (administrator)' },
    json: { type: 'boolean', help: 'machine-readable result' },
  },
  epilog: 'Exit status: 0 accepted/issued, 1 refused (the reason is printed), 2 usage, 3 error, 78 no data directory.',
});

const REASONS: Record<Exclude<DeliverOobResult, { ok: true }>['reason'], string> = {
  'unknown-peer': 'no registration in progress for this device (unknown or expired PeerId); restart the device’s registration',
  'already-received': 'this device already received an OOB message; it will complete on its next connection',
  consumed: 'this code was already used once; the device must show a new one',
  'account-bound': 'an earlier delivery bound this device to another account; an administrator can release it with --reset-owner',
  registered: 'this device is already registered',
  'direction-not-negotiated': 'this device expects to read a code from the server, not to show one',
  'hoob-mismatch': 'the code does not match the device (typing error, old code, or another device)',
  'retries-exhausted': 'too many wrong codes: the registration was dropped; restart the device’s registration',
  malformed: 'this is not an EAP-NOOB OOB message',
  busy: 'the registration changed at the same time; try again',
};

/** `gangway noob-oob`: deliver or issue an EAP-NOOB OOB message against the data directory's database. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values: v, positionals }) => {
    const url = positionals[0];
    const modes = [url !== undefined, v.issue !== undefined, v.list, v['reset-owner'] !== undefined].filter(Boolean).length;
    if (modes !== 1) throw new UsageError('give exactly one of URL, --issue PEERID, --list, --reset-owner PEERID');
    if (url !== undefined && v.user === undefined && !v['no-user']) {
      throw new UsageError('say whom the device belongs to: --user NAME, or --no-user to bind it to no account');
    }
    if (v['no-user'] && v.user !== undefined) throw new UsageError('--user and --no-user exclude each other');
    if (v['any-user'] && v.user === undefined) throw new UsageError('--any-user only goes with --user NAME');
    if (v['noob-timeout'] !== undefined && v.issue === undefined) throw new UsageError('--noob-timeout only goes with --issue PEERID');

    const dir = requireDataDir(dataDirOf(v.data));
    const config = loadConfig(dir.path);
    const noob = noobConfigOf(config.methods['eap-noob'], dir.path);
    const lifetime = integerOption(v['noob-timeout'], 'noob-timeout', 1, noob.noobTimeout);
    const stores = await openConfiguredStores(config);
    try {
      const store: NoobPeerStore = stores.noobPeers;
      // The person gets a sentence on stdout; structured logs only when asked for (GANGWAY_LOG_LEVEL).
      const log = createLog(process.env.GANGWAY_LOG_LEVEL ?? 'silent', process.stderr).child({ command: 'noob-oob' });
      const audit = stores.audit;
      if (v.user !== undefined && !v['any-user'] && !(await stores.users.get(v.user))) {
        io.stderr(`no user "${escapeForTerminal(v.user)}" (add it first with "gangway users add", or pass --any-user)\n`);
        return 1;
      }
      const out = (obj: unknown, textLine: string) => io.stdout(v.json ? `${JSON.stringify(obj)}\n` : textLine);

      if (v.list) {
        const waiting = await store.list({ states: [1, 2], limit: 200 });
        const now = new Date();
        // The Noob is a secret until used: a code is named by its direction, account and times only.
        const codesOf = (r: NoobPeerRecord) =>
          r.oobs.map((o) => ({ direction: o.direction, account: o.account, createdAt: o.createdAt, expiresAt: o.expiresAt, expired: oobExpired(o, now) }));
        if (v.json) {
          const rows = waiting.map((r) => ({ peerId: r.peerId, state: r.state, dirp: r.ephemeral?.dirp, account: r.account, accountBound: r.accountBound, peerInfo: r.peerInfo, createdAt: r.createdAt, codes: codesOf(r) }));
          io.stdout(`${JSON.stringify(rows)}\n`);
        } else if (waiting.length === 0) io.stdout('no registrations waiting\n');
        else {
          for (const r of waiting) {
            const owner = r.accountBound ? `bound:${r.account === undefined || r.account === null ? '(none)' : escapeForTerminal(r.account)}` : '-';
            io.stdout(`${escapeForTerminal(r.peerId)}  state ${r.state}  dirp ${r.ephemeral?.dirp}  ${r.createdAt.toISOString()}  ${owner}  ${escapeForTerminal(r.peerInfo ?? '')}\n`);
            for (const c of codesOf(r)) {
              const what = c.direction === 2 ? 'issued code' : 'delivered code';
              const by = c.account !== undefined ? ` for ${escapeForTerminal(c.account)}` : '';
              const until = c.direction === 2 ? (c.expired ? 'expired' : 'valid until') : 'device forgets it by';
              io.stdout(`    ${what}${by}  ${c.createdAt.toISOString()}  ${until} ${c.expiresAt.toISOString()}\n`);
            }
          }
        }
        return 0;
      }

      if (v['reset-owner'] !== undefined) {
        const r = await resetNoobOwner({ store, log, audit, config: noob }, v['reset-owner']);
        if (!r.ok) {
          out(r, `refused: ${r.detail}\n`);
          return 1;
        }
        out(r, `device ${escapeForTerminal(r.peerId)} is no longer bound${r.previousAccount !== undefined ? ` to ${escapeForTerminal(r.previousAccount)}` : ''}; the next accepted delivery binds it.\n`);
        return 0;
      }

      if (v.issue !== undefined) {
        const r = await issueServerToPeerOob({ store, config: noob, log, audit }, v.issue, {
          ...(v.user !== undefined ? { account: v.user } : {}),
          ...(lifetime !== undefined ? { lifetime } : {}),
        });
        if (!r.ok) {
          out(r, `refused: ${r.detail}\n`);
          return 1;
        }
        const qr = v.json ? '' : await QRCode.toString(r.url, { type: 'terminal', small: true });
        const basis = lifetime !== undefined ? `--noob-timeout ${lifetime} s` : `methods.eap-noob.noobTimeout ${noob.noobTimeout} s`;
        out({ ok: true, url: r.url, peerId: v.issue, expiresAt: r.expiresAt }, `${qr}\n${r.url}\nShow this to the device; valid until ${r.expiresAt.toISOString()} (${basis}).\n`);
        return 0;
      }

      // deliverOob keeps the audit trail (deliveries and refusals alike): binding a device is an administrative act.
      // With the data directory's limits (OobRetries, lifetimes), as the server would judge the delivery.
      const r = await deliverOobFromUrl(store, url!, v.user, { log, audit, config: noob });
      if (!r.ok) {
        out(r, `refused: ${REASONS[r.reason]}\n`);
        return 1;
      }
      out(
        r,
        `accepted: device ${escapeForTerminal(r.peerId)}${r.account !== undefined ? ` is bound to ${escapeForTerminal(r.account)}` : ' is bound to no account'}; it completes registration on its next connection.\n` +
          `${r.peerInfo !== undefined ? `device says: ${escapeForTerminal(r.peerInfo)}\n` : ''}`,
      );
      return 0;
    } catch (err) {
      io.stderr(`${(err as Error).message}\n`);
      return 3;
    } finally {
      await stores.close();
    }
  });
}

function noobConfigOf(raw: unknown, dir: string): ResolvedNoobConfig {
  if (raw === undefined || raw === null) throw new SetupError(`EAP-NOOB is not enabled in ${dir}/gangway.yaml (no methods.eap-noob section; see docs/eap-noob.md)`);
  return parseNoobMethodConfig(raw);
}
