/**
 * What the portal shows of the credential policy: the VLAN a device or a person gets. The
 * composition root passes the server's Authorizer, so the page says what the next authentication
 * will actually be given, from the same rules and the same stores.
 */
import type { Vlan } from '../policy/authorization-policy.js';
import type { NoobPeerRecord } from '../store/noob-peers.js';

export interface AuthorizationView {
  /** An EAP-NOOB device at its next authentication. */
  noobDevice(rec: NoobPeerRecord): Promise<{ vlan?: Vlan }>;
  /** A BRSKI device authenticating with its LDevID. */
  brskiDevice(manufacturer: string): { vlan?: Vlan };
  /** authorization.users.NAME.vlan of gangway.yaml. */
  configuredUserVlan(userName: string): Vlan | undefined;
}
