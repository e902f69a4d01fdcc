import type { Grant } from '../../eap-methods/method.js';
import { CLIENT_CERTIFICATE } from './policy.js';
import type { Phase1Certificate, StepAuthentication } from './policy-sequencer.js';

/**
 * The grant of a completed TEAP conversation, from the authentications the sequencer recorded and
 * nothing else (RFC 9930 §3.7: the Peer-Id comes from the inner method). The user identity leads; a
 * machine identity, else the Phase-1 certificate's serial, becomes the device id.
 */
export function buildPhase2Grant(auths: readonly StepAuthentication[], certificate: Phase1Certificate | undefined): Grant {
  const inner = auths.filter((a) => a.method !== CLIENT_CERTIFICATE);
  const byCert = auths.find((a) => a.method === CLIENT_CERTIFICATE);
  const machine = inner.find((a) => a.identityType === 'machine');
  const user = inner.find((a) => a.identityType === 'user') ?? inner.find((a) => a.identityType === undefined);
  const primary = user ?? machine ?? byCert;
  if (!primary) throw new Error('a TEAP grant needs at least one authentication');
  const g: Grant = { identity: primary.identity, method: 'teap' };
  const withDevice = auths.find((a) => a.deviceId !== undefined);
  if (withDevice) g.deviceId = withDevice.deviceId!;
  else if (machine && machine !== primary) g.deviceId = machine.identity;
  else if (byCert && certificate?.deviceId) g.deviceId = certificate.deviceId;
  const innerCertificates = inner.flatMap((a) => (a.certificate ? [a.certificate] : []));
  if (innerCertificates.length > 0) g.innerCertificates = innerCertificates;
  return g;
}
