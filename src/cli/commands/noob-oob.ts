import { parseArgs } from 'node:util';
import QRCode from 'qrcode';

import { NOOB_DEFAULTS, isAcceptableOobUrl } from '../../noob/config.js';
import { deliverOobFromUrl, issueServerToPeerOob, resetNoobOwner, type DeliverOobResult } from '../../noob/oob.js';
import type { NoobPeerStore } from '../../store/noob-peers.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { databasePathOf } from '../data-dir.js';
import { SqliteAuditStore } from '../../store/sqlite/audit.js';
import { SqliteNoobPeerStore } from '../../store/sqlite/noob-peers.js';
import { SqliteUserStore } from '../../store/sqlite/users.js';
import { createLog } from '../../util/log.js';
import type { CliIo } from '../io.js';

const USAGE = `usage: gangway noob-oob --data DIR URL [--user NAME]          deliver a device's OOB message (its QR code)
       gangway noob-oob --data DIR --issue PEERID --oob-url URL [--user NAME]
                                                                make a code for a device to read (server-to-peer)
       gangway noob-oob --data DIR --list                      registrations waiting for the OOB step
       gangway noob-oob --data DIR --reset-owner PEERID        release a waiting device from the account
                                                                an earlier delivery bound it to (administrator)

  URL            what the device's QR code says: https://…?P=<PeerId>&N=<Noob>&H=<Hoob> (or just P=…&N=…&H=…)
  --user NAME    bind the device to this user account (must exist unless --any-user); once a delivery
                 was accepted the device stays bound to its account, even if the device later rejects
                 the code — only --reset-owner changes that
  --oob-url URL  the server's OOB URL (ServerURL in its configuration), for --issue
  --noob-timeout SECONDS   how long an issued code stays valid (default ${NOOB_DEFAULTS.noobTimeout})
  --json         machine-readable result
Exit status: 0 accepted/issued, 1 refused (the reason is printed), 2 usage, 3 error.
`;

/** The CLI's view of deliverOob: the same function the portal will call. */
export { deliverOobFromUrl } from '../../noob/oob.js';

/** Database of a data directory: the `store.sqlite` of its configuration. */
export function databasePath(dataDir: string): string {
  return databasePathOf(dataDir);
}

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
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        user: { type: 'string' },
        'any-user': { type: 'boolean', default: false },
        issue: { type: 'string' },
        'reset-owner': { type: 'string' },
        'oob-url': { type: 'string' },
        'noob-timeout': { type: 'string' },
        list: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  const modes = [parsed.positionals.length === 1, v.issue !== undefined, v.list, v['reset-owner'] !== undefined].filter(Boolean).length;
  if (!v.data || modes !== 1 || parsed.positionals.length > 1) {
    io.stderr(USAGE);
    return 2;
  }
  const noobTimeout = v['noob-timeout'] !== undefined ? Number(v['noob-timeout']) : NOOB_DEFAULTS.noobTimeout;
  if (!Number.isInteger(noobTimeout) || noobTimeout < 1) {
    io.stderr('--noob-timeout must be a positive integer\n');
    return 2;
  }
  if (v.issue !== undefined && (!v['oob-url'] || !isAcceptableOobUrl(v['oob-url']))) {
    io.stderr(`--issue needs --oob-url with an https URL\n${USAGE}`);
    return 2;
  }

  let db;
  try {
    db = openSqlite(databasePath(v.data));
  } catch (err) {
    io.stderr(`cannot open ${databasePath(v.data)}: ${(err as Error).message}\n`);
    return 3;
  }
  try {
    const store: NoobPeerStore = new SqliteNoobPeerStore(db);
    // The person gets a sentence on stdout; structured logs only when asked for (GANGWAY_LOG_LEVEL).
    const log = createLog(process.env.GANGWAY_LOG_LEVEL ?? 'silent', process.stderr).child({ command: 'noob-oob' });
    const audit = new SqliteAuditStore(db);
    if (v.user !== undefined && !v['any-user'] && !(await new SqliteUserStore(db).get(v.user))) {
      io.stderr(`no user "${v.user}" (add it first, or pass --any-user)\n`);
      return 1;
    }
    const out = (obj: unknown, textLine: string) => io.stdout(v.json ? `${JSON.stringify(obj)}\n` : textLine);

    if (v.list) {
      const waiting = await store.list({ states: [1, 2], limit: 200 });
      if (v.json) io.stdout(`${JSON.stringify(waiting.map((r) => ({ peerId: r.peerId, state: r.state, dirp: r.ephemeral?.dirp, account: r.account, accountBound: r.accountBound, peerInfo: r.peerInfo, createdAt: r.createdAt })))}\n`);
      else if (waiting.length === 0) io.stdout('no registrations waiting\n');
      else for (const r of waiting) io.stdout(`${r.peerId}  state ${r.state}  dirp ${r.ephemeral?.dirp}  ${r.createdAt.toISOString()}  ${r.accountBound ? `bound:${r.account ?? '(none)'}` : '-'}  ${r.peerInfo ?? ''}\n`);
      return 0;
    }

    if (v['reset-owner'] !== undefined) {
      const r = await resetNoobOwner({ store, log, audit }, v['reset-owner']);
      if (!r.ok) {
        out(r, `refused: ${r.detail}\n`);
        return 1;
      }
      out(r, `device ${r.peerId} is no longer bound${r.previousAccount !== undefined ? ` to ${r.previousAccount}` : ''}; the next accepted delivery binds it.\n`);
      return 0;
    }

    if (v.issue !== undefined) {
      const r = await issueServerToPeerOob(
        { store, config: { oobUrl: v['oob-url']!, noobTimeout, ephemeralLifetime: NOOB_DEFAULTS.ephemeralLifetime, maxIssuedOobs: NOOB_DEFAULTS.maxIssuedOobs, noobIdForm: 'concat' }, log, audit },
        v.issue,
        v.user !== undefined ? { account: v.user } : {},
      );
      if (!r.ok) {
        out(r, `refused: ${r.detail}\n`);
        return 1;
      }
      const qr = v.json ? '' : await QRCode.toString(r.url, { type: 'terminal', small: true });
      out({ ok: true, url: r.url, peerId: v.issue, expiresAt: r.expiresAt }, `${qr}\n${r.url}\nShow this to the device; valid until ${r.expiresAt.toISOString()}.\n`);
      return 0;
    }

    // deliverOob keeps the audit trail (deliveries and refusals alike): binding a device is an administrative act.
    const r = await deliverOobFromUrl(store, parsed.positionals[0]!, v.user, { log, audit });
    if (!r.ok) {
      out(r, `refused: ${REASONS[r.reason]}\n`);
      return 1;
    }
    out(r, `accepted: device ${r.peerId}${r.account !== undefined ? ` is bound to ${r.account}` : ''}; it completes registration on its next connection.\n${r.peerInfo !== undefined ? `device says: ${r.peerInfo}\n` : ''}`);
    return 0;
  } catch (err) {
    io.stderr(`${(err as Error).message}\n`);
    return 3;
  } finally {
    db.close();
  }
}
