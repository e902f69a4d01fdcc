/**
 * Remembers, per authenticated identity, the session of its last Access-Accept (which NAS, which
 * station), so that removing a device can name that session in a Disconnect-Request. It reads only
 * what passes through the RADIUS handler: the request and the reply the bridge built. The store
 * queues the record and returns, so the Access-Accept never waits for the database.
 */
import type { AccessReply } from '../radius/access-reply.js';
import { decodeString, getIpv4Attribute, getStringAttribute } from '../radius/attributes.js';
import { AttributeType } from '../radius/dictionary.js';
import { RadiusCode } from '../radius/packet.js';
import type { AccessRequestContext } from '../radius/server.js';
import type { AccessSessionStore } from '../store/access-sessions.js';
import type { Log } from '../util/log.js';

export async function recordAcceptedSession(store: AccessSessionStore, req: AccessRequestContext, reply: AccessReply | null, log: Log, now = new Date()): Promise<void> {
  if (reply?.code !== RadiusCode.AccessAccept) return;
  const userName = reply.attributes?.find((a) => a.type === AttributeType.UserName);
  if (!userName) return;
  const requestUserName = getStringAttribute(req.packet, AttributeType.UserName);
  const callingStationId = getStringAttribute(req.packet, AttributeType.CallingStationId);
  const nasIdentifier = getStringAttribute(req.packet, AttributeType.NasIdentifier);
  const nasIpAddress = getIpv4Attribute(req.packet, AttributeType.NasIpAddress);
  try {
    await store.record({
      identity: decodeString(userName.value),
      clientName: req.client.name,
      clientAddress: req.client.address,
      ...(requestUserName !== undefined ? { requestUserName } : {}),
      ...(callingStationId !== undefined ? { callingStationId } : {}),
      ...(nasIdentifier !== undefined ? { nasIdentifier } : {}),
      ...(nasIpAddress !== undefined ? { nasIpAddress } : {}),
      ...(reply.deviceId !== undefined ? { deviceId: reply.deviceId } : {}),
      acceptedAt: now,
    });
  } catch (err) {
    // The reply still goes out: losing the record only means a later removal cannot disconnect.
    // (record only queues, store/access-session-batch.ts: what fails here is a closed store.)
    log.error({ err: (err as Error).message, client: req.client.name }, 'cannot record the accepted session');
  }
}
