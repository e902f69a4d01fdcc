/**
 * The OOB step (RFC 9140 §3.3.2–3.3.3, Appendix D): encoding of OOB messages as URLs, delivery of a
 * peer-to-server message (the device's QR code opened by a person), and issuing a server-to-peer
 * message (a code the device reads). Errors here are never sent in-band: the callers (CLI,
 * portal) show them to the person who delivered the message.
 */
import { b64urlEncode, isB64url } from './base64url.js';
import { hoob, constantTimeEqualText, noobId } from './crypto/digests.js';
import type { Cryptosuite } from './crypto/cryptosuites.js';
import { systemRandom, type NoobRandom } from './crypto/random.js';
import { MAX_PEER_ID_BYTES } from './message-codec.js';
import { isValidNaiUsername } from './nai.js';
import { effectiveServerState, oobExpired } from './server-state-machine.js';
import { initialSlots } from './transcript.js';
import { NOOB_DEFAULTS, type ResolvedNoobConfig } from './config.js';
import { isConsumed, mergeConsumed, type NoobPeerRecord, type NoobPeerStore, type NoobPeerWrite } from '../store/noob-peers.js';
import type { AuditStore } from '../store/audit.js';
import type { Log } from '../util/log.js';

/** The content of one OOB message: PeerId, Noob and Hoob (the latter two base64url, 16 bytes each). */
export interface OobMessage {
  peerId: string;
  noob: string;
  hoob: string;
}

export class OobFormatError extends Error {
  override readonly name = 'OobFormatError';
}

/** "P=<PeerId>&N=<Noob>&H=<Hoob>" (Appendix D). */
export function encodeOobQuery(m: OobMessage): string {
  return `P=${encodeURIComponent(m.peerId)}&N=${m.noob}&H=${m.hoob}`;
}

/** `<base>?P=..&N=..&H=..`, the text a QR code or NFC tag carries. */
export function formatOobUrl(base: string, m: OobMessage): string {
  return `${base}${base.includes('?') ? '&' : '?'}${encodeOobQuery(m)}`;
}

/** Longest OOB text we look at: a 60-character ServerURL plus three parameters fits easily. */
const MAX_OOB_TEXT = 2048;

/**
 * Reads an OOB message from a URL (any scheme/host/path) or a bare "P=..&N=..&H=.." query.
 * Exactly the three parameters, each once; N must be 16 bytes of canonical base64url (its bytes
 * enter the KDF), H 22 base64url characters.
 */
export function parseOobMessage(text: string): OobMessage {
  const t = text.trim();
  if (t.length === 0 || t.length > MAX_OOB_TEXT) throw new OobFormatError('OOB message is empty or too long');
  const q = t.indexOf('?');
  const query = q >= 0 ? t.slice(q + 1) : /^[PNH]=/.test(t) ? t : undefined;
  if (query === undefined) throw new OobFormatError('no P/N/H query in the OOB message');
  const fragmentless = query.split('#')[0]!;
  const params = new URLSearchParams(fragmentless);
  const seen = new Map<string, string>();
  for (const [k, v] of params) {
    if (!['P', 'N', 'H'].includes(k)) throw new OobFormatError(`unexpected parameter "${k}"`);
    if (seen.has(k)) throw new OobFormatError(`parameter "${k}" appears twice`);
    seen.set(k, v);
  }
  const peerId = seen.get('P');
  const noob = seen.get('N');
  const h = seen.get('H');
  if (peerId === undefined || noob === undefined || h === undefined) throw new OobFormatError('OOB message needs P, N and H');
  if (!isValidNaiUsername(peerId) || Buffer.byteLength(peerId) > MAX_PEER_ID_BYTES) throw new OobFormatError('P is not a valid PeerId');
  if (!isB64url(noob, 16)) throw new OobFormatError('N is not a 16-byte base64url Noob');
  // H only needs the right shape: any wrong value fails the Hoob comparison (and counts as a retry).
  if (!/^[A-Za-z0-9_-]{22}$/.test(h)) throw new OobFormatError('H is not a 22-character base64url Hoob');
  return { peerId, noob, hoob: h };
}

export type DeliverOobFailure =
  /** No registration in progress under this PeerId (never existed, expired or dropped). */
  | 'unknown-peer'
  /** This registration already accepted an OOB message (a replay or a second scan). */
  | 'already-received'
  /** This very message was accepted before; the registration has since been sent back to state 1. */
  | 'consumed'
  /** An earlier accepted delivery bound the device to another account (or to none). */
  | 'account-bound'
  /** The peer is registered already; re-registration needs an explicit reset. */
  | 'registered'
  /** The peer did not choose peer-to-server OOB (Dirp). */
  | 'direction-not-negotiated'
  /** Hoob does not match: wrong, corrupted or forged message; counted against OobRetries. */
  | 'hoob-mismatch'
  /** Hoob mismatched once too often, or too many deliveries were rolled back: the registration was dropped (RFC 9140 §3.3.3). */
  | 'retries-exhausted'
  /** The URL is not an OOB message. */
  | 'malformed'
  /** The record kept changing under us. */
  | 'busy';

export type DeliverOobResult =
  | { ok: true; peerId: string; peerInfo?: string; account?: string }
  | { ok: false; reason: DeliverOobFailure; detail: string; boundAccount?: string | null };

export interface OobDeps {
  store: NoobPeerStore;
  clock?: () => Date;
  log?: Log;
  /** Where deliveries and refusals are recorded (binding a device to an account is an administrative act). */
  audit?: AuditStore;
  /** oobRetries, noobTimeout, ephemeralLifetime; defaults as in NOOB_DEFAULTS. */
  config?: Partial<Pick<ResolvedNoobConfig, 'oobRetries' | 'noobTimeout' | 'ephemeralLifetime'>>;
}

function limits(deps: Pick<OobDeps, 'config'>): Pick<ResolvedNoobConfig, 'oobRetries' | 'noobTimeout' | 'ephemeralLifetime'> {
  return {
    oobRetries: deps.config?.oobRetries ?? NOOB_DEFAULTS.oobRetries,
    noobTimeout: deps.config?.noobTimeout ?? NOOB_DEFAULTS.noobTimeout,
    ephemeralLifetime: deps.config?.ephemeralLifetime ?? NOOB_DEFAULTS.ephemeralLifetime,
  };
}

const RETRIES = 3;

/**
 * Accepted deliveries one registration may consume. Each needs a fresh code from the device and a
 * 2003 rollback in between, so a real device never comes close; past it the registration is dropped
 * like after OobRetries, which bounds the consumed list.
 */
export const MAX_CONSUMED_OOBS = 32;

/** The account an accepted delivery fixed: a string, or null for "no account". */
function boundAccountOf(rec: NoobPeerRecord): string | null {
  return rec.account ?? null;
}

/**
 * Delivers a peer-to-server OOB message (Dir = 1) and, if `account` is given, binds the device to
 * that user account — RFC 9140 §6.1 suggests making the authenticated person who delivers the
 * OOB message the owner. On success the peer's next EAP conversation runs the Completion Exchange.
 *
 * The first accepted delivery fixes the account (`accountBound`, even when it names none). If the
 * registration later goes back to state 1 (the 2003 rule), the delivered message stays consumed and
 * a delivery for another account is refused until an administrator resets the owner.
 * Each outcome is a single store transition.
 */
export async function deliverOob(deps: OobDeps, oob: OobMessage, opts: { account?: string } = {}): Promise<DeliverOobResult> {
  const now = (deps.clock ?? (() => new Date()))();
  const cfg = limits(deps);
  const log = deps.log?.child({ peerId: oob.peerId, account: opts.account });
  const audited = (r: DeliverOobResult): DeliverOobResult => {
    deps.audit?.append({
      at: now,
      event: r.ok ? 'noob.oob.delivered' : 'noob.oob.refused',
      subject: oob.peerId,
      detail: {
        account: opts.account ?? null,
        ...(r.ok ? { boundAccount: r.account ?? null } : { reason: r.reason, ...(r.boundAccount !== undefined ? { boundAccount: r.boundAccount } : {}) }),
      },
    });
    return r;
  };
  const fail = (reason: DeliverOobFailure, detail: string, extra: { boundAccount?: string | null } = {}): DeliverOobResult => {
    log?.warn({ reason, detail, ...extra }, 'eap-noob: OOB message rejected');
    return audited({ ok: false, reason, detail, ...extra });
  };
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const rec = await deps.store.get(oob.peerId);
    const state = effectiveServerState(rec, now, cfg);
    if (!rec || state === 0) return fail('unknown-peer', 'no registration in progress for this PeerId');
    if (state === 2) return fail('already-received', 'this device already received an OOB message');
    if (state >= 3) return fail('registered', 'this device is already registered');
    const e = rec.ephemeral!;
    if ((e.dirp & 1) === 0) return fail('direction-not-negotiated', 'the device did not choose peer-to-server OOB');

    const expected = hoob(e.cryptosuite as Cryptosuite, 1, initialSlots(e.transcript, oob.noob));
    let next: NoobPeerWrite | null;
    let result: DeliverOobResult;
    if (constantTimeEqualText(expected, oob.hoob)) {
      if (isConsumed(rec, expected)) return fail('consumed', 'this code was used before; the device must show a new one');
      if (rec.accountBound && opts.account !== undefined && opts.account !== rec.account) {
        return fail('account-bound', 'an earlier delivery bound this device to another account; an administrator must reset its owner', { boundAccount: boundAccountOf(rec) });
      }
      if (rec.consumedOobs.length >= MAX_CONSUMED_OOBS) {
        next = null;
        result = { ok: false, reason: 'retries-exhausted', detail: 'too many deliveries were rolled back; the device must start over' };
      } else {
        const account = rec.accountBound ? rec.account : opts.account;
        // The device made this Noob before we saw it, so it forgets it no later than NoobTimeout from now.
        const expiresAt = new Date(now.getTime() + cfg.noobTimeout * 1000);
        const message = { direction: 1 as const, noob: oob.noob, hoob: expected, createdAt: now, expiresAt, ...(opts.account !== undefined ? { account: opts.account } : {}) };
        next = {
          ...rec,
          state: 2,
          updatedAt: now,
          ...(account !== undefined ? { account } : {}),
          accountBound: true,
          oobs: [...rec.oobs, message],
          consumedOobs: mergeConsumed(rec.consumedOobs, [{ direction: 1, hoob: expected, ...(opts.account !== undefined ? { account: opts.account } : {}), consumedAt: now }]),
        };
        result = { ok: true, peerId: rec.peerId, ...(rec.peerInfo !== undefined ? { peerInfo: rec.peerInfo } : {}), ...(account !== undefined ? { account } : {}) };
      }
    } else {
      const rejections = e.oobRejections + 1;
      if (rejections >= cfg.oobRetries) {
        // RFC 9140 §3.3.3: after OobRetries invalid messages go to state 0 (drop the registration).
        next = null;
        result = { ok: false, reason: 'retries-exhausted', detail: 'too many invalid OOB messages; the device must start over' };
      } else {
        next = { ...rec, updatedAt: now, ephemeral: { ...e, oobRejections: rejections } };
        result = { ok: false, reason: 'hoob-mismatch', detail: 'the OOB message does not match this device (Hoob)' };
      }
    }
    if (await deps.store.transition(rec.peerId, rec.version, next)) {
      if (result.ok) log?.info({ peerInfo: rec.peerInfo, boundAccount: result.account ?? null }, 'eap-noob: OOB message accepted');
      else log?.warn({ reason: result.reason }, 'eap-noob: OOB message rejected');
      return audited(result);
    }
  }
  return fail('busy', 'the registration changed concurrently; try again');
}

/** For the CLI and the portal: parse the URL, then `deliverOob`. */
export async function deliverOobFromUrl(
  store: NoobPeerStore,
  url: string,
  user?: string,
  opts: Omit<OobDeps, 'store'> = {},
): Promise<DeliverOobResult> {
  let oob: OobMessage;
  try {
    oob = parseOobMessage(url);
  } catch (e) {
    if (!(e instanceof OobFormatError)) throw e;
    opts.audit?.append({ at: (opts.clock ?? (() => new Date()))(), event: 'noob.oob.refused', detail: { account: user ?? null, reason: 'malformed' } });
    return { ok: false, reason: 'malformed', detail: e.message };
  }
  return deliverOob({ ...opts, store }, oob, user !== undefined ? { account: user } : {});
}

export type IssueOobFailure = 'unknown-peer' | 'already-received' | 'registered' | 'direction-not-negotiated' | 'account-bound' | 'lifetime' | 'busy';

export type IssueOobResult =
  | { ok: true; message: OobMessage; url: string; noobId: string; expiresAt: Date }
  | { ok: false; reason: IssueOobFailure; detail: string; boundAccount?: string | null };

export interface IssueOobDeps {
  store: NoobPeerStore;
  config: Pick<ResolvedNoobConfig, 'oobUrl' | 'noobTimeout' | 'ephemeralLifetime' | 'maxIssuedOobs' | 'noobIdForm'>;
  clock?: () => Date;
  random?: NoobRandom;
  log?: Log;
  audit?: AuditStore;
}

export interface IssueOobOptions {
  account?: string;
  /**
   * Seconds this code stays acceptable, at most `noobTimeout` (the default): that is the server's
   * NoobTimeout (RFC 9140 §3.6), and the retention of unfinished registrations counts on no code
   * outliving it. A shorter life suits a code shown where others can see it.
   */
  lifetime?: number;
}

/**
 * Makes a server-to-peer OOB message (Dir = 2) for a device waiting in state 1: a fresh Noob, its
 * Hoob, shown to the person (QR code) for the device to read. The message is stored with its
 * expiry (now + `lifetime`, default NoobTimeout), which is what the Completion Exchange enforces;
 * the person's `account` becomes the owner when the Completion Exchange succeeds — unless an
 * earlier accepted delivery already bound the device, in which case only that account (or none
 * given) may issue.
 */
export async function issueServerToPeerOob(deps: IssueOobDeps, peerId: string, opts: IssueOobOptions = {}): Promise<IssueOobResult> {
  const now = (deps.clock ?? (() => new Date()))();
  const random = deps.random ?? systemRandom;
  const log = deps.log?.child({ peerId, account: opts.account });
  const fail = (reason: IssueOobFailure, detail: string, extra: { boundAccount?: string | null } = {}): IssueOobResult => {
    log?.warn({ reason, detail, ...extra }, 'eap-noob: cannot issue a server-to-peer OOB message');
    deps.audit?.append({ at: now, event: 'noob.oob.issue-refused', subject: peerId, detail: { account: opts.account ?? null, reason, ...extra } });
    return { ok: false, reason, detail, ...extra };
  };
  const lifetime = opts.lifetime ?? deps.config.noobTimeout;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > deps.config.noobTimeout) {
    return fail('lifetime', `a code's lifetime must be a whole number of seconds from 1 to methods.eap-noob.noobTimeout (${deps.config.noobTimeout})`);
  }
  const expiresAt = new Date(now.getTime() + lifetime * 1000);
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const rec: NoobPeerRecord | undefined = await deps.store.get(peerId);
    const state = effectiveServerState(rec, now, deps.config);
    if (!rec || state === 0) return fail('unknown-peer', 'no registration in progress for this PeerId');
    if (state === 2) return fail('already-received', 'the device already delivered its own OOB message');
    if (state >= 3) return fail('registered', 'this device is already registered');
    const e = rec.ephemeral!;
    if ((e.dirp & 2) === 0) return fail('direction-not-negotiated', 'the device did not choose server-to-peer OOB');
    if (rec.accountBound && opts.account !== undefined && opts.account !== rec.account) {
      return fail('account-bound', 'an earlier delivery bound this device to another account; an administrator must reset its owner', { boundAccount: boundAccountOf(rec) });
    }
    const suite = e.cryptosuite as Cryptosuite;
    const noob = b64urlEncode(random.noob());
    const h = hoob(suite, 2, initialSlots(e.transcript, noob));
    const message: OobMessage = { peerId, noob, hoob: h };
    const live = rec.oobs.filter((o) => o.direction === 1 || !oobExpired(o, now));
    const issued = live.filter((o) => o.direction === 2);
    const keep = issued.slice(Math.max(0, issued.length - (deps.config.maxIssuedOobs - 1)));
    const next: NoobPeerWrite = {
      ...rec,
      updatedAt: now,
      oobs: [
        ...live.filter((o) => o.direction === 1),
        ...keep,
        { direction: 2, noob, hoob: h, createdAt: now, expiresAt, ...(opts.account !== undefined ? { account: opts.account } : {}) },
      ],
    };
    if (await deps.store.transition(peerId, rec.version, next)) {
      log?.info({}, 'eap-noob: server-to-peer OOB message issued');
      deps.audit?.append({ at: now, event: 'noob.oob.issued', subject: peerId, detail: { account: opts.account ?? null, expiresAt: expiresAt.toISOString() } });
      return { ok: true, message, url: formatOobUrl(deps.config.oobUrl, message), noobId: noobId(suite, noob, deps.config.noobIdForm), expiresAt };
    }
  }
  return fail('busy', 'the registration changed concurrently; try again');
}

export type ResetOwnerResult =
  | { ok: true; peerId: string; previousAccount?: string }
  | { ok: false; reason: 'unknown-peer' | 'not-waiting' | 'registered' | 'busy'; detail: string };

/**
 * An administrator's decision to release a device that waits for its OOB step (state 1) from the
 * account an earlier delivery bound it to, so that a delivery for another account can bind it.
 * Consumed OOB messages stay consumed: the device must show a new code either way. Refused in state
 * 2 (a delivery is pending; the device completes under it) and for registered devices.
 */
export async function resetNoobOwner(deps: Pick<OobDeps, 'store' | 'clock' | 'log' | 'audit' | 'config'>, peerId: string): Promise<ResetOwnerResult> {
  const now = (deps.clock ?? (() => new Date()))();
  const cfg = limits(deps);
  const log = deps.log?.child({ peerId });
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    const rec = await deps.store.get(peerId);
    const state = effectiveServerState(rec, now, cfg);
    if (!rec || state === 0) return { ok: false, reason: 'unknown-peer', detail: 'no registration in progress for this PeerId' };
    if (state === 2) return { ok: false, reason: 'not-waiting', detail: 'a delivered code is pending; the device completes under it on its next connection' };
    if (state >= 3) return { ok: false, reason: 'registered', detail: 'this device is already registered' };
    const { account: previous, ...rest } = rec;
    const next: NoobPeerWrite = { ...rest, accountBound: false, updatedAt: now };
    if (await deps.store.transition(peerId, rec.version, next)) {
      log?.warn({ previousAccount: previous ?? null, wasBound: rec.accountBound }, 'eap-noob: owner reset by an administrator');
      deps.audit?.append({ at: now, event: 'noob.owner.reset', subject: peerId, detail: { previousAccount: previous ?? null, wasBound: rec.accountBound } });
      return { ok: true, peerId, ...(previous !== undefined ? { previousAccount: previous } : {}) };
    }
  }
  return { ok: false, reason: 'busy', detail: 'the registration changed concurrently; try again' };
}

/**
 * Drops unfinished registrations past their lifetime whose issued Noobs expired (ephemeralExpired,
 * by each code's stored expiry), and unbound ones past their shorter lifetime. For a periodic
 * housekeeping timer; never touches registered peers.
 */
export async function purgeExpiredRegistrations(
  store: NoobPeerStore,
  config: Pick<ResolvedNoobConfig, 'ephemeralLifetime' | 'unboundLifetime'>,
  now = new Date(),
): Promise<number> {
  const expired = await store.deleteExpiredEphemeral(new Date(now.getTime() - config.ephemeralLifetime * 1000), now);
  // An unbound registration has no OOB message, so no Noob of ours can outlive it.
  return expired + (await store.deleteUnboundBefore(new Date(now.getTime() - config.unboundLifetime * 1000)));
}
