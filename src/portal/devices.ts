/**
 * What the portal does with devices: list a person's EAP-NOOB devices, register one from its OOB
 * message (the same deliverOobFromUrl that `gangway noob-oob` runs, bound to the signed-in
 * account), and remove one — the association is dropped, so the device's next Reconnect fails,
 * and its current session is ended through the injected terminator (RFC 5176 Disconnect).
 */
import { deliverOobFromUrl, issueServerToPeerOob, parseOobMessage, type DeliverOobFailure, type IssueOobDeps, type IssueOobFailure, type OobDeps } from '../noob/oob.js';
import { DEFAULT_SWITCHES, NOOB_DEFAULTS } from '../noob/config.js';
import type { AuditStore } from '../store/audit.js';
import type { NoobPeerRecord, NoobPeerStore } from '../store/noob-peers.js';
import type { Log } from '../util/log.js';
import { RateLimiter } from './rate-limit.js';

/** How removal ends a live session; the composition root supplies it (the portal knows no RADIUS). */
export type TerminateSession = (identity: string, opts?: { watchLate?: boolean; detail?: Record<string, unknown>; onlyDevice?: string; stillWanted?: () => Promise<boolean> }) => Promise<{ kind: string } & Record<string, unknown>>;

export interface DeviceServiceDeps {
  /** Absent when EAP-NOOB is not configured. */
  noob?: { store: NoobPeerStore; config?: OobDeps['config'] & Partial<IssueOobDeps['config']> };
  audit: AuditStore;
  log: Log;
  terminate?: TerminateSession;
  /** OOB submissions per account per window (RFC 9140's OobRetries bounds guesses per device; this bounds them per person). */
  oobSubmissions?: { limit: number; windowMs: number };
}

export interface Actor {
  userName: string;
  admin: boolean;
}

export type RegisterResult =
  | { ok: true; peerId: string; peerInfo?: string }
  | { ok: false; reason: DeliverOobFailure | 'rate-limited' | 'noob-disabled'; message: string; status: number };

export type RemoveResult =
  | { ok: true; peerId: string; disconnect?: { kind: string } & Record<string, unknown> }
  | { ok: false; status: number; message: string };

/** A message for the person and a status for scripts, per refusal of the OOB step. */
const REFUSALS: Record<DeliverOobFailure, { message: string; status: number }> = {
  'unknown-peer': { message: 'No registration is in progress for this device (unknown or expired code). Restart the device’s registration and scan again.', status: 404 },
  'already-received': { message: 'This device already received its code; it completes registration on its next connection.', status: 409 },
  registered: { message: 'This device is already registered.', status: 409 },
  'direction-not-negotiated': { message: 'This device expects to read a code from the server, not to show one.', status: 409 },
  'hoob-mismatch': { message: 'The code does not match the device (a typing error, an old code, or another device’s code).', status: 422 },
  'retries-exhausted': { message: 'Too many wrong codes: the registration was dropped. Restart the device’s registration.', status: 410 },
  malformed: { message: 'This is not a device registration code.', status: 400 },
  busy: { message: 'The registration changed at the same moment; try again.', status: 503 },
  consumed: { message: 'This code has already been used. Restart the device’s registration to get a new one.', status: 409 },
  'account-bound': { message: 'This device is registered to another account. An administrator must release it first.', status: 403 },
};

export type IssueCodeResult =
  | { ok: true; peerId: string; url: string; expiresAt: Date }
  | { ok: false; status: number; message: string };

/** A message for the person and a status for scripts, per refusal to issue a code. */
const ISSUE_REFUSALS: Record<IssueOobFailure, { message: string; status: number }> = {
  'unknown-peer': { message: 'No device with this ID is waiting to be registered. Check the ID the device shows, or restart its registration.', status: 404 },
  'already-received': { message: 'This device already sent its own code; scan that instead.', status: 409 },
  registered: { message: 'This device is already registered.', status: 409 },
  'direction-not-negotiated': { message: 'This device shows a code itself: scan it, or paste it above.', status: 409 },
  'account-bound': { message: 'This device is registered to another account. An administrator must release it first.', status: 403 },
  // The portal always asks for the configured noobTimeout, so only a broken configuration gets here.
  lifetime: { message: 'The server cannot issue codes with its current configuration.', status: 500 },
  busy: { message: 'The registration changed at the same moment; try again.', status: 503 },
};

export class DeviceService {
  private readonly oobLimiter: RateLimiter;

  constructor(private readonly deps: DeviceServiceDeps) {
    const l = deps.oobSubmissions ?? { limit: 20, windowMs: 10 * 60_000 };
    this.oobLimiter = new RateLimiter(l.limit, l.windowMs);
  }

  get enabled(): boolean {
    return this.deps.noob !== undefined;
  }

  async listFor(actor: Actor): Promise<NoobPeerRecord[]> {
    return this.deps.noob ? this.deps.noob.store.list({ account: actor.userName, limit: 500 }) : [];
  }

  async listAll(): Promise<NoobPeerRecord[]> {
    return this.deps.noob ? this.deps.noob.store.list({ limit: 1000 }) : [];
  }

  /** A device the actor may see: their own, or any for an administrator. */
  async get(peerId: string, actor: Actor): Promise<NoobPeerRecord | undefined> {
    const rec = await this.deps.noob?.store.get(peerId);
    return rec && (actor.admin || rec.account === actor.userName) ? rec : undefined;
  }

  /**
   * The PeerInfo a device sent, for the confirmation page: only of a device whose owner is still
   * to be chosen, or that is the actor's. Someone else's is undefined, exactly as an unknown PeerId
   * is: a PeerId alone (the Noob is checked only at the POST) must not show what another person's
   * device is, nor that it exists.
   */
  async pendingPeerInfo(peerId: string, actor: Actor): Promise<string | undefined> {
    const rec = await this.deps.noob?.store.get(peerId);
    const free = rec !== undefined && !rec.accountBound && rec.account === undefined;
    return rec && (free || rec.account === actor.userName) ? rec.peerInfo : undefined;
  }

  async register(url: string, actor: Actor, client: string): Promise<RegisterResult> {
    const noob = this.deps.noob;
    if (!noob) return { ok: false, reason: 'noob-disabled', message: 'EAP-NOOB is not enabled on this server.', status: 404 };
    const at = new Date();
    if (!this.oobLimiter.hit(actor.userName)) {
      this.deps.audit.append({ at, event: 'noob.oob.refused', detail: { account: actor.userName, reason: 'rate-limited', via: 'portal', client } });
      return { ok: false, reason: 'rate-limited', message: 'Too many codes submitted; wait a few minutes and try again.', status: 429 };
    }
    const r = await deliverOobFromUrl(noob.store, url, actor.userName, { log: this.deps.log, ...(noob.config ? { config: noob.config } : {}) });
    this.deps.audit.append({
      at,
      event: r.ok ? 'noob.oob.delivered' : 'noob.oob.refused',
      ...(r.ok ? { subject: r.peerId } : {}),
      detail: { account: actor.userName, via: 'portal', client, ...(r.ok ? {} : { reason: r.reason }) },
    });
    if (r.ok) return { ok: true, peerId: r.peerId, ...(r.peerInfo !== undefined ? { peerInfo: r.peerInfo } : {}) };
    // These say what became of a device, before any check of the code: for someone else's device
    // the answer is the unknown PeerId's, as on the confirmation page (a PeerId alone must not tell
    // whether another person's device exists, nor that it is registered).
    if (r.reason === 'already-received' || r.reason === 'registered' || r.reason === 'account-bound') {
      const rec = await noob.store.get(parseOobMessage(url).peerId);
      if (rec?.account === undefined || rec.account !== actor.userName) return { ok: false, reason: 'unknown-peer', ...REFUSALS['unknown-peer'] };
    }
    return { ok: false, reason: r.reason, ...REFUSALS[r.reason] };
  }

  /** Whether codes can be issued for devices that read them (RFC 9140 server-to-peer direction). */
  get issuing(): boolean {
    return this.deps.noob?.config?.oobUrl !== undefined;
  }

  /**
   * The server-to-peer direction (RFC 9140 §3.3.2): the device shows only its PeerId; we make a
   * code for the signed-in person, and the device reads it (camera, or typed in). The person
   * becomes the owner when the device's Completion Exchange succeeds.
   */
  async issueCode(peerId: string, actor: Actor, client: string): Promise<IssueCodeResult> {
    const noob = this.deps.noob;
    const oobUrl = noob?.config?.oobUrl;
    if (!noob || oobUrl === undefined) return { ok: false, status: 404, message: 'EAP-NOOB with server-to-device codes is not enabled on this server.' };
    const at = new Date();
    if (!this.oobLimiter.hit(actor.userName)) {
      this.deps.audit.append({ at, event: 'noob.oob.issue-refused', subject: peerId, detail: { account: actor.userName, reason: 'rate-limited', via: 'portal', client } });
      return { ok: false, status: 429, message: 'Too many codes requested; wait a few minutes and try again.' };
    }
    const c = noob.config!;
    const r = await issueServerToPeerOob(
      {
        store: noob.store,
        config: {
          oobUrl,
          noobTimeout: c.noobTimeout ?? NOOB_DEFAULTS.noobTimeout,
          ephemeralLifetime: c.ephemeralLifetime ?? NOOB_DEFAULTS.ephemeralLifetime,
          maxIssuedOobs: c.maxIssuedOobs ?? NOOB_DEFAULTS.maxIssuedOobs,
          noobIdForm: c.noobIdForm ?? DEFAULT_SWITCHES.noobIdForm,
        },
        audit: this.deps.audit,
        log: this.deps.log,
      },
      peerId,
      { account: actor.userName },
    );
    if (!r.ok) return { ok: false, ...ISSUE_REFUSALS[r.reason] };
    this.deps.audit.append({ at, event: 'noob.oob.issued', subject: peerId, detail: { account: actor.userName, via: 'portal', client, expiresAt: r.expiresAt.toISOString() } });
    return { ok: true, peerId, url: r.url, expiresAt: r.expiresAt };
  }

  async remove(peerId: string, actor: Actor, client: string): Promise<RemoveResult> {
    const noob = this.deps.noob;
    // Someone else's device answers exactly like a missing one: no probing for PeerIds.
    const rec = noob ? await this.get(peerId, actor) : undefined;
    if (!noob || !rec) return { ok: false, status: 404, message: 'No such device.' };
    const at = new Date();
    if (!(await noob.store.remove(peerId))) return { ok: false, status: 404, message: 'No such device.' };
    this.deps.audit.append({ at, event: 'portal.device.removed', subject: peerId, detail: { account: rec.account ?? null, by: actor.userName, state: rec.state, client } });
    if (!this.deps.terminate) return { ok: true, peerId };
    let disconnect;
    try {
      disconnect = await this.deps.terminate(peerId, { detail: { by: actor.userName } });
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message, peerId }, 'portal: ending the removed device’s session failed');
      disconnect = { kind: 'failed', detail: (err as Error).message };
    }
    this.deps.audit.append({ at: new Date(), event: 'radius.disconnect', subject: peerId, detail: { by: actor.userName, ...disconnect } });
    return { ok: true, peerId, disconnect };
  }
}

export const NOOB_STATE_NAMES: Record<number, string> = {
  1: 'waiting for its code',
  2: 'code received — completes on its next connection',
  3: 'reconnecting',
  4: 'registered',
};

/** A short human name from PeerInfo (RFC 9140 §5.2 members such as Make, Type, Serial), else its text. */
export function deviceName(peerInfo: string | undefined): string {
  if (peerInfo === undefined || peerInfo.length === 0) return 'Unnamed device';
  try {
    const o = JSON.parse(peerInfo) as unknown;
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      const r = o as Record<string, unknown>;
      const parts = ['Make', 'Type', 'Model', 'PeerName', 'Serial', 'SerialNumber']
        .map((k) => r[k])
        .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
        .map(String);
      if (parts.length > 0) return parts.join(' ').slice(0, 120);
    }
  } catch {
    // Not JSON: show the text itself.
  }
  return peerInfo.slice(0, 120);
}
