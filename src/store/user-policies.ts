/**
 * What an administrator set for a person in the portal that the credential policy applies to their
 * sessions (today: the VLAN of their devices and password/certificate logins). Kept apart from the
 * users aggregate's credentials, and from gangway.yaml's `authorization.users`, which it overrides
 * (docs/configuration.md).
 *
 * Asynchronous like the other aggregates, so that a PostgreSQL implementation can follow.
 */
export interface UserPolicy {
  userName: string;
  /** VLAN id 1..4094. */
  vlan?: number;
  /** The administrator who last changed it, and when. */
  setBy: string;
  setAt: Date;
}

export interface UserPolicyStore {
  get(userName: string): Promise<UserPolicy | undefined>;
  list(): Promise<UserPolicy[]>;
  /** Sets (or with undefined clears) a user's VLAN; false when there is no such user. */
  setVlan(userName: string, vlan: number | undefined, by: string, at: Date): Promise<boolean>;
}

export function isVlanId(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= 4094;
}
