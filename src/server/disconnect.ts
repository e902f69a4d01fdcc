/**
 * Ends a device's network session now (RFC 5176 Disconnect-Request) instead of at its next
 * re-authentication: used when a person or an administrator removes the device. The session is
 * the identity's last Access-Accept; the NAS is the RADIUS client that sent it, if that client is
 * configured with a `coa` port.
 */
import { RadiusClient } from '../radius/client.js';
import { getIntegerAttribute, ipv4Attribute, stringAttribute } from '../radius/attributes.js';
import { AttributeType } from '../radius/dictionary.js';
import { RadiusClientError } from '../radius/errors.js';
import { RadiusCode, type RadiusAttribute } from '../radius/packet.js';
import type { AccessSession, AccessSessionStore } from '../store/access-sessions.js';
import type { Log } from '../util/log.js';

export interface DisconnectClient {
  name: string;
  secret: string;
  coa?: { port: number };
}

export type DisconnectOutcome =
  /** No accepted session is known for this identity. */
  | { kind: 'no-session' }
  /** The NAS of the last session has no `coa` port configured. */
  | { kind: 'not-configured'; client: string }
  /** Disconnect-ACK: the NAS ended the session. */
  | { kind: 'ack'; client: string; address: string }
  /** Disconnect-NAK, with the NAS's Error-Cause (RFC 5176 §3.5) when it sent one. */
  | { kind: 'nak'; client: string; address: string; errorCause?: number }
  /** No valid answer (timeout, unreachable, bad signature). */
  | { kind: 'failed'; client: string; address: string; detail: string };

export interface TerminateOptions {
  /**
   * Look again after lateSessionGraceMs for a session accepted while the identity was being
   * removed (default true). Off where one identity outlives what was removed: a device's
   * re-enrolled certificate shares the identity of the revoked one.
   */
  watchLate?: boolean;
  /** Passed to onLateSession with the late outcome (who removed what, for the audit). */
  detail?: Record<string, unknown>;
  /**
   * Only a session that rested on this device's certificate (AccessSession.deviceId), now and at
   * the second look: the identity is a person's whose session was found through the device, and
   * the same person's session elsewhere is none of the removal's business.
   */
  onlyDevice?: string;
  /**
   * Asked before the second look ends a late session: false when the removal was undone meanwhile
   * (a denied device approved again), and the late session is then the undoing's to keep.
   */
  stillWanted?: () => Promise<boolean>;
}

export type SessionTerminator = (identity: string, opts?: TerminateOptions) => Promise<DisconnectOutcome>;

export interface DisconnectDeps {
  sessions: AccessSessionStore;
  clients: readonly DisconnectClient[];
  log: Log;
  /** Bounds the wait for the NAS; a person is waiting for the page. Default 4000 ms. */
  maxDurationMs?: number;
  /**
   * How long after the first look a second one watches for a session accepted while the removal
   * happened: an authentication whose last store check came just before the removal still sends
   * its Access-Accept, and records its session after the first look. On one server with SQLite
   * that is milliseconds later; with PostgreSQL and several servers it can be as late as that
   * server's store is slow, so the second look is a best effort. Default 2000 ms; 0: none.
   */
  lateSessionGraceMs?: number;
  /** The outcome of a second look that found such a session (the composition root audits it). */
  onLateSession?: (identity: string, outcome: DisconnectOutcome, detail: Record<string, unknown>) => void;
}

/** The attributes naming the session (RFC 5176 §3: User-Name, Calling-Station-Id, NAS identification). */
export function disconnectAttributes(s: { identity: string; callingStationId?: string; nasIdentifier?: string; nasIpAddress?: string }, now = new Date()): RadiusAttribute[] {
  const attrs: RadiusAttribute[] = [stringAttribute(AttributeType.UserName, s.identity)];
  if (s.callingStationId !== undefined) attrs.push(stringAttribute(AttributeType.CallingStationId, s.callingStationId));
  if (s.nasIdentifier !== undefined) attrs.push(stringAttribute(AttributeType.NasIdentifier, s.nasIdentifier));
  if (s.nasIpAddress !== undefined) attrs.push(ipv4Attribute(AttributeType.NasIpAddress, s.nasIpAddress));
  // RFC 5176 §3.1 / RFC 5080 §2.1.1: Event-Timestamp lets the NAS refuse replays.
  attrs.push({ type: AttributeType.EventTimestamp, value: Uint8Array.of(...u32(Math.floor(now.getTime() / 1000))) });
  return attrs;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function createSessionTerminator(deps: DisconnectDeps): SessionTerminator {
  const log = deps.log.child({ module: 'disconnect' });
  const graceMs = deps.lateSessionGraceMs ?? 2000;

  const secondLook = (identity: string, seen: AccessSession | undefined, detail: Record<string, unknown>, onlyDevice: string | undefined, stillWanted: (() => Promise<boolean>) | undefined): void => {
    const timer = setTimeout(() => {
      void (async () => {
        const late = await deps.sessions.get(identity);
        // The session the first look handled (still there after a NAK) is not a new one; any
        // other is, whatever its time says (another server's clock, the same millisecond).
        if (!late || (seen && sameSession(late, seen)) || !onDevice(late, onlyDevice)) return;
        if (stillWanted && !(await stillWanted().catch((err: unknown) => {
          // Not knowing whether the removal was undone, the removal stands.
          log.warn({ identity, err: err instanceof Error ? err.message : String(err) }, 'cannot tell whether the removal was undone: ending the late session');
          return true;
        }))) {
          log.info({ identity, acceptedAt: late.acceptedAt.toISOString() }, 'a session was accepted after the removal was undone: left alone');
          return;
        }
        log.warn({ identity, client: late.clientName, acceptedAt: late.acceptedAt.toISOString() }, 'a session was accepted while the identity was being removed: ending it too');
        const outcome = await disconnect(identity, late);
        try {
          deps.onLateSession?.(identity, outcome, detail);
        } catch (err) {
          log.error({ identity, err: err instanceof Error ? err.message : String(err), outcome: outcome.kind }, 'cannot record the late Disconnect');
        }
      })().catch((err: unknown) => {
        // The server may be shutting down (store closed); nothing is left to end then.
        log.warn({ identity, err: err instanceof Error ? err.message : String(err) }, 'the second look for a late session failed');
      });
    }, graceMs);
    timer.unref();
  };

  const disconnect = async (identity: string, session: AccessSession): Promise<DisconnectOutcome> => {
    const client = deps.clients.find((c) => c.name === session.clientName);
    if (!client?.coa) return { kind: 'not-configured', client: session.clientName };
    const address = session.clientAddress;
    const radius = new RadiusClient({
      host: address,
      port: client.coa.port,
      secret: client.secret,
      initialTimeoutMs: 1000,
      maxRetransmissions: 2,
      maxDurationMs: deps.maxDurationMs ?? 4000,
      log,
    });
    try {
      // Message-Authenticator on every request we originate (BlastRADIUS guidance).
      const { packet } = await radius.send({ code: RadiusCode.DisconnectRequest, attributes: disconnectAttributes(session), messageAuthenticator: true });
      if (packet.code === RadiusCode.DisconnectAck) {
        // Only this session: one accepted meanwhile stays on record for the second look.
        await deps.sessions.remove(identity, session.acceptedAt);
        log.info({ identity, client: client.name, address }, 'Disconnect-ACK: session ended');
        return { kind: 'ack', client: client.name, address };
      }
      const errorCause = getIntegerAttribute(packet, AttributeType.ErrorCause);
      log.warn({ identity, client: client.name, address, code: packet.code, errorCause }, 'Disconnect-Request refused');
      return { kind: 'nak', client: client.name, address, ...(errorCause !== undefined ? { errorCause } : {}) };
    } catch (err) {
      if (!(err instanceof RadiusClientError)) throw err;
      log.warn({ identity, client: client.name, address, err: err.message }, 'Disconnect-Request got no valid answer');
      return { kind: 'failed', client: client.name, address, detail: err.message };
    } finally {
      await radius.close();
    }
  };

  return async (identity, opts = {}) => {
    const stored = await deps.sessions.get(identity);
    const session = stored && onDevice(stored, opts.onlyDevice) ? stored : undefined;
    if (graceMs > 0 && opts.watchLate !== false) secondLook(identity, stored, opts.detail ?? {}, opts.onlyDevice, opts.stillWanted);
    return session ? disconnect(identity, session) : { kind: 'no-session' };
  };
}

function onDevice(s: AccessSession, deviceId: string | undefined): boolean {
  return deviceId === undefined || s.deviceId === deviceId;
}

function sameSession(a: AccessSession, b: AccessSession): boolean {
  return a.acceptedAt.getTime() === b.acceptedAt.getTime() && a.clientName === b.clientName && a.clientAddress === b.clientAddress &&
    a.callingStationId === b.callingStationId && a.nasIdentifier === b.nasIdentifier && a.nasIpAddress === b.nasIpAddress;
}
