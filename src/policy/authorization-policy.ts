/**
 * The credential policy: what an authenticated session gets — VLAN (RFC 3580 tunnel attributes),
 * Session-Timeout, Filter-Id, Class — from who or what authenticated and how. Pure: facts in,
 * decision out; the facts are gathered elsewhere (src/server/authorizer.ts).
 *
 * Layers, from the broadest to the most specific; each attribute is taken from the most specific
 * layer that sets it, so layers combine (a user's VLAN with a method's Session-Timeout):
 *
 *   1. default                              (and the older top-level authorization.vlan / sessionTimeout)
 *   2. methods.METHOD                       the EAP method that authenticated (eap-tls, teap, ...)
 *   3. devices.CLASS                        user | noob | brski
 *   4. devices.brski.manufacturers.NAME     a BRSKI device of that manufacturer
 *   5. users.ACCOUNT                        the person: a password or certificate user, or the owner of a NOOB device
 *   6. the account's VLAN set in the portal (the users page) — overrides users.ACCOUNT.vlan
 *   7. mud[i]                               the first rule whose pattern matches the device's MUD URL
 *   8. what the method itself granted       (a plugin's Grant values)
 *
 * A MUD rule outranks the account because it says what the device is (a thermostat is fenced in
 * as a thermostat, whoever owns it); a person's settings outrank the broad class and method rules.
 */
import { mudPatternMatches, type MudPattern } from './mud-url.js';

/** A VLAN id (1..4094) or a VLAN name, as Tunnel-Private-Group-ID carries either (RFC 3580 §3.31). */
export type Vlan = number | string;

/** One layer's settings, as configured. */
export interface PolicyAttributes {
  vlan?: Vlan;
  /** Seconds. */
  sessionTimeout?: number;
  /** Filter-Id (RFC 2865 §5.11): the name of a filter list on the NAS. */
  filterId?: string;
  /** Class (RFC 2865 §5.25), as text; the NAS echoes it into accounting. */
  class?: string;
}

export interface MudRule extends PolicyAttributes {
  pattern: MudPattern;
}

export type DeviceClass = 'user' | 'noob' | 'brski';
export const DEVICE_CLASSES: readonly DeviceClass[] = ['user', 'noob', 'brski'];

export interface AuthorizationPolicy {
  default: PolicyAttributes;
  methods: ReadonlyMap<string, PolicyAttributes>;
  devices: ReadonlyMap<DeviceClass, PolicyAttributes>;
  /** devices.brski.manufacturers: per manufacturer name of the brski section. */
  manufacturers: ReadonlyMap<string, PolicyAttributes>;
  users: ReadonlyMap<string, PolicyAttributes>;
  /** In order: the first matching rule applies. */
  mud: readonly MudRule[];
  /** The PeerInfo member holding a NOOB device's MUD URL (RFC 9140 registers none). */
  mudPeerInfoMember?: string;
}

/** What is known about one authenticated session. */
export interface AuthorizationFacts {
  /** The EAP method that authenticated (the grant's method). */
  method: string;
  deviceClass: DeviceClass;
  /** The person: a user's own name, or the account a NOOB device is bound to. */
  account?: string;
  /** A BRSKI device's manufacturer (as named in the brski section). */
  manufacturer?: string;
  /** Normalised MUD URL (mud-url.ts), from the device's certificate or PeerInfo. */
  mudUrl?: string;
  /** The VLAN an administrator set for the account in the portal. */
  accountVlan?: number;
  /** What the method granted by itself. */
  granted?: { vlan?: number; sessionTimeout?: number; class?: Uint8Array };
}

export interface Authorization {
  vlan?: Vlan;
  sessionTimeout?: number;
  filterId?: string;
  class?: Uint8Array;
}

export type AuthorizationAttribute = keyof Authorization;

export interface AuthorizationDecision extends Authorization {
  /** Which layer each attribute came from (`default`, `users.alice`, `mud[0]`, ...), for logs and the portal. */
  sources: Partial<Record<AuthorizationAttribute, string>>;
}

/** The first MUD rule whose pattern matches, with its index. */
export function matchMudRule(rules: readonly MudRule[], mudUrl: string): { index: number; rule: MudRule } | undefined {
  for (const [index, rule] of rules.entries()) if (mudPatternMatches(rule.pattern, mudUrl)) return { index, rule };
  return undefined;
}

export function decideAuthorization(policy: AuthorizationPolicy, facts: AuthorizationFacts): AuthorizationDecision {
  const layers: [string, PolicyAttributes | undefined][] = [
    ['default', policy.default],
    [`methods.${facts.method}`, policy.methods.get(facts.method)],
    [`devices.${facts.deviceClass}`, policy.devices.get(facts.deviceClass)],
  ];
  if (facts.deviceClass === 'brski' && facts.manufacturer !== undefined) {
    layers.push([`devices.brski.manufacturers.${facts.manufacturer}`, policy.manufacturers.get(facts.manufacturer)]);
  }
  if (facts.account !== undefined) {
    layers.push([`users.${facts.account}`, policy.users.get(facts.account)]);
    if (facts.accountVlan !== undefined) layers.push([`portal:${facts.account}`, { vlan: facts.accountVlan }]);
  }
  if (facts.mudUrl !== undefined) {
    const hit = matchMudRule(policy.mud, facts.mudUrl);
    if (hit) layers.push([`mud[${hit.index}]`, hit.rule]);
  }

  const out: AuthorizationDecision = { sources: {} };
  for (const [name, layer] of layers) {
    if (!layer) continue;
    if (layer.vlan !== undefined) set(out, 'vlan', layer.vlan, name);
    if (layer.sessionTimeout !== undefined) set(out, 'sessionTimeout', layer.sessionTimeout, name);
    if (layer.filterId !== undefined) set(out, 'filterId', layer.filterId, name);
    if (layer.class !== undefined) set(out, 'class', new TextEncoder().encode(layer.class), name);
  }
  const g = facts.granted;
  if (g?.vlan !== undefined) set(out, 'vlan', g.vlan, 'method');
  if (g?.sessionTimeout !== undefined) set(out, 'sessionTimeout', g.sessionTimeout, 'method');
  if (g?.class !== undefined && g.class.length > 0) set(out, 'class', g.class, 'method');
  return out;
}

function set<K extends AuthorizationAttribute>(out: AuthorizationDecision, key: K, value: NonNullable<Authorization[K]>, source: string): void {
  out[key] = value as AuthorizationDecision[K];
  out.sources[key] = source;
}
