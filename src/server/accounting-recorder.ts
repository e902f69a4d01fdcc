/**
 * Turns Accounting-Requests (RFC 2866) into session records and audit lines. Start and Stop of a
 * session are audited; Interim-Updates only update the session's row. Accounting-On/Off close every
 * open session of that NAS (it restarted, or is going down).
 */
import { getIntegerAttribute, getIpv4Attribute, getIpv6Attribute, getStringAttribute } from '../radius/attributes.js';
import { AcctStatusType, AttributeType } from '../radius/dictionary.js';
import { RadiusProtocolError } from '../radius/errors.js';
import type { AccountingHandler, AccountingRequestContext } from '../radius/accounting-server.js';
import type { RadiusPacket } from '../radius/packet.js';
import type { AccountingEvent, AccountingRecord, AccountingStore } from '../store/accounting.js';
import type { AuditStore } from '../store/audit.js';
import type { Log } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';

/** An Acct-Delay-Time beyond this is not believed (a NAS with a broken clock or counter). */
const MAX_DELAY_SECONDS = 86_400;
const GIGAWORD = 2 ** 32;
/** One warning per kind and client in this window; the repeats at debug, counted into the next one. */
const WARNING_WINDOW_MS = 10_000;

export interface AccountingRecorderDeps {
  store: AccountingStore;
  audit: AuditStore;
  log: Log;
  now?: () => Date;
}

/** A NAS, or anyone holding its secret, can repeat what is refused here at line rate: so can its log lines. */
type RefusalWarning = (kind: 'malformed' | 'no-status-type' | 'no-session-id', fields: Record<string, unknown>, msg: string) => void;

export function createAccountingRecorder(deps: AccountingRecorderDeps): AccountingHandler {
  const now = deps.now ?? (() => new Date());
  const limiter = new LogLimiter(WARNING_WINDOW_MS, () => now().getTime());
  const warn: RefusalWarning = (kind, fields, msg) => limiter.warn(deps.log, `${kind}|${String(fields.client)}`, fields, msg);
  return async (req) => {
    try {
      return await recordOne(req, deps, now(), warn);
    } catch (err) {
      if (!(err instanceof RadiusProtocolError)) throw err;
      warn('malformed', { client: req.client.name, id: req.packet.identifier, err: err.message }, 'Accounting-Request with a malformed attribute: not recorded, not answered');
      return false;
    }
  };
}

async function recordOne(req: AccountingRequestContext, deps: AccountingRecorderDeps, received: Date, warn: RefusalWarning): Promise<boolean> {
  const p = req.packet;
  const statusType = getIntegerAttribute(p, AttributeType.AcctStatusType);
  const nas = nasOf(p, req.client.address);
  const delay = getIntegerAttribute(p, AttributeType.AcctDelayTime) ?? 0;
  const at = new Date(received.getTime() - Math.min(delay, MAX_DELAY_SECONDS) * 1000);
  const fields = { client: req.client.name, nas, id: p.identifier };

  if (statusType === AcctStatusType.AccountingOn || statusType === AcctStatusType.AccountingOff) {
    const closed = await deps.store.stopAllOf(req.client.name, nas, at);
    const event = statusType === AcctStatusType.AccountingOn ? 'accounting.nas-on' : 'accounting.nas-off';
    deps.audit.append({ at, event, subject: nas, detail: { client: req.client.name, sessionsClosed: closed } });
    deps.log.info({ ...fields, sessionsClosed: closed }, statusType === AcctStatusType.AccountingOn ? 'NAS started accounting (Accounting-On): its open sessions are closed' : 'NAS stops accounting (Accounting-Off): its open sessions are closed');
    return true;
  }
  const event = eventOf(statusType);
  if (event === undefined) {
    if (statusType === undefined) {
      warn('no-status-type', fields, 'Accounting-Request without Acct-Status-Type: not recorded, not answered');
      return false;
    }
    // Tunnel and failure types (RFC 2867, RFC 2866 §5.1 value 15) are acknowledged; we keep no record of them.
    deps.log.debug({ ...fields, statusType }, 'Accounting-Request of a type not recorded here; acknowledged');
    return true;
  }
  const sessionId = getStringAttribute(p, AttributeType.AcctSessionId);
  if (sessionId === undefined || sessionId.length === 0) {
    warn('no-session-id', fields, 'Accounting-Request without Acct-Session-Id (RFC 2866 §5.5 requires it): not recorded, not answered');
    return false;
  }
  const record: AccountingRecord = {
    event,
    at,
    nas,
    sessionId,
    clientName: req.client.name,
    ...optional('userName', getStringAttribute(p, AttributeType.UserName)),
    ...optional('callingStationId', getStringAttribute(p, AttributeType.CallingStationId)),
    ...optional('calledStationId', getStringAttribute(p, AttributeType.CalledStationId)),
    ...optional('framedIpAddress', getIpv4Attribute(p, AttributeType.FramedIpAddress)),
    ...optional('multiSessionId', getStringAttribute(p, AttributeType.AcctMultiSessionId)),
    ...optional('sessionTime', getIntegerAttribute(p, AttributeType.AcctSessionTime)),
    ...optional('inputOctets', octets(p, AttributeType.AcctInputOctets, AttributeType.AcctInputGigawords)),
    ...optional('outputOctets', octets(p, AttributeType.AcctOutputOctets, AttributeType.AcctOutputGigawords)),
    ...optional('inputPackets', getIntegerAttribute(p, AttributeType.AcctInputPackets)),
    ...optional('outputPackets', getIntegerAttribute(p, AttributeType.AcctOutputPackets)),
    ...optional('terminateCause', getIntegerAttribute(p, AttributeType.AcctTerminateCause)),
  };
  const change = await deps.store.apply(record);
  const device = record.userName ?? record.callingStationId ?? sessionId;
  const detail = { client: req.client.name, nas, sessionId, userName: record.userName ?? null, callingStationId: record.callingStationId ?? null };
  if (change === 'started') {
    deps.audit.append({ at, event: 'accounting.start', subject: device, detail: { ...detail, ...(event !== 'start' ? { firstSeenIn: event } : {}) } });
    deps.log.info({ ...fields, sessionId, user: record.userName, station: record.callingStationId }, 'accounting: session started');
  } else if (change === 'stopped') {
    const usage = { sessionTime: record.sessionTime ?? null, inputOctets: record.inputOctets ?? null, outputOctets: record.outputOctets ?? null, terminateCause: record.terminateCause ?? null };
    deps.audit.append({ at, event: 'accounting.stop', subject: device, detail: { ...detail, ...usage } });
    deps.log.info({ ...fields, sessionId, user: record.userName, station: record.callingStationId, ...usage }, 'accounting: session stopped');
  } else {
    deps.log.debug({ ...fields, sessionId, event, change }, 'accounting: session updated');
  }
  return true;
}

function eventOf(statusType: number | undefined): AccountingEvent | undefined {
  if (statusType === AcctStatusType.Start) return 'start';
  if (statusType === AcctStatusType.Stop) return 'stop';
  if (statusType === AcctStatusType.InterimUpdate) return 'interim';
  return undefined;
}

/** RFC 2866 §5.5: a session is unique per NAS; the NAS names itself by NAS-Identifier or its address. */
function nasOf(p: RadiusPacket, sourceAddress: string): string {
  return getStringAttribute(p, AttributeType.NasIdentifier) ?? getIpv4Attribute(p, AttributeType.NasIpAddress) ?? getIpv6Attribute(p, AttributeType.NasIpv6Address) ?? sourceAddress;
}

/** Octet counters wrap at 2^32; Acct-*-Gigawords count the wraps (RFC 2869 §5.1-5.2). */
function octets(p: RadiusPacket, octetsType: number, gigawordsType: number): number | undefined {
  const low = getIntegerAttribute(p, octetsType);
  const high = getIntegerAttribute(p, gigawordsType);
  if (low === undefined && high === undefined) return undefined;
  return (high ?? 0) * GIGAWORD + (low ?? 0);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
