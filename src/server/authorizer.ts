/**
 * Gathers the facts the credential policy decides on (src/policy) from a grant and the stores:
 * which class of device authenticated, its manufacturer, its MUD URL, the person behind it and the
 * VLAN an administrator set for them. The decision itself stays pure in decideAuthorization.
 *
 * Device classes:
 *  - noob:  an EAP-NOOB device; its account is the person it is bound to; its MUD URL is the
 *           configured PeerInfo member (RFC 9140 registers none).
 *  - brski: a certificate that is an LDevID our registrar CA issued (its serial and TBSCertificate
 *           equal the recorded ones, issued-revocation.ts), or an IDevID of a trusted manufacturer
 *           (TEAP-BRSKI sets the grant's manufacturer). Such devices belong to the domain, not to a person.
 *  - user:  everything else (password and certificate users); the account is the identity.
 *
 * A certificate we issued and have revoked gets nothing (AccessRefusal): the methods refuse it
 * themselves, and this is where a method that did not ask, or asked before the revocation, is caught.
 * Nor does a BRSKI device an administrator denied, whichever certificate it proves (its IDevID, an
 * LDevID issued before the denial, or one a re-enrolment under way at the denial obtained): denial
 * withdraws access while it stands and approving the device again restores it, where a revocation
 * could not be undone.
 */
import type { Grant } from '../eap-methods/method.js';
import { AccessRefusal } from './access-refusal.js';
import { issuedRecordOf } from '../pki/ca/issued-revocation.js';
import { mudUrlOfCertificate } from '../pki/mud-url.js';
import { readableSerialNumberOf } from '../teap-brski/brski/voucher/index.js';
import {
  decideAuthorization, type AuthorizationDecision, type AuthorizationFacts, type AuthorizationPolicy, type Vlan,
} from '../policy/authorization-policy.js';
import { normaliseMudUrl } from '../policy/mud-url.js';
import { parseBrskiDeviceId, type BrskiDeviceStore } from '../store/brski-devices.js';
import type { IssuedCertificateRecord, IssuedCertificateStore } from '../store/issued-certificates.js';
import type { NoobPeerRecord } from '../store/noob-peers.js';
import type { UserPolicyStore } from '../store/user-policies.js';
import type { Log } from '../util/log.js';

export interface AuthorizerDeps {
  policy: AuthorizationPolicy;
  /** Our registrar CA's certificates (absent without a brski section). */
  issuedCertificates?: Pick<IssuedCertificateStore, 'get'>;
  /** The registrar's device records, for an administrator's denial. */
  brskiDevices?: Pick<BrskiDeviceStore, 'get'>;
  /** VLANs set by administrators in the portal. */
  userPolicies?: Pick<UserPolicyStore, 'get'>;
  log: Log;
}

/** The methods whose grants' certificates the TLS handshake proved (the peer holds the key). */
const CERTIFICATE_METHODS: ReadonlySet<string> = new Set(['eap-tls', 'teap']);

/** The method LDevIDs authenticate with after enrolment, for what the portal shows. */
const LDEVID_METHOD = 'eap-tls';

export class Authorizer {
  constructor(private readonly deps: AuthorizerDeps) {}

  get policy(): AuthorizationPolicy {
    return this.deps.policy;
  }

  /** The bridge's Authorize: what this grant's session gets. */
  async authorize(grant: Grant): Promise<AuthorizationDecision & { deviceId?: string }> {
    const { facts, deviceId } = await this.judge(grant);
    const decision = decideAuthorization(this.deps.policy, facts);
    this.deps.log.debug({ identity: grant.identity, method: grant.method, deviceClass: facts.deviceClass, account: facts.account, manufacturer: facts.manufacturer, mudUrl: facts.mudUrl, sources: decision.sources }, 'authorization decided');
    return deviceId !== undefined ? { ...decision, deviceId } : decision;
  }

  async factsFor(grant: Grant): Promise<AuthorizationFacts> {
    return (await this.judge(grant)).facts;
  }

  /**
   * The facts, and the TEAP-BRSKI device (manufacturer:serialNumber) whose IDevID or LDevID the
   * conversation proved, if any: the session record keeps it so that denying the device ends the
   * session whatever identity it was accepted under. The Phase-1 / EAP-TLS certificate's device
   * first, else the first inner certificate's.
   */
  private async judge(grant: Grant): Promise<{ facts: AuthorizationFacts; deviceId?: string }> {
    let deviceId: string | undefined;
    const facts = await this.factsNaming(grant, (id) => {
      if (deviceId === undefined && parseBrskiDeviceId(id) !== undefined) deviceId = id;
    });
    return deviceId !== undefined ? { facts, deviceId } : { facts };
  }

  private async factsNaming(grant: Grant, device: (deviceId: string) => void): Promise<AuthorizationFacts> {
    const granted = {
      ...(grant.vlan !== undefined ? { vlan: grant.vlan } : {}),
      ...(grant.sessionTimeout !== undefined ? { sessionTimeout: grant.sessionTimeout } : {}),
      ...(grant.class !== undefined ? { class: grant.class } : {}),
    };
    const base = { method: grant.method, ...(Object.keys(granted).length > 0 ? { granted } : {}) };

    if (grant.method === 'eap-noob') {
      // The grant carries the owner and PeerInfo of the registration the method has just committed
      // (a version-checked write), as fresh as a read of the store would be.
      return this.withAccount({ ...base, deviceClass: 'noob', ...this.noobMud(grant.peerInfo) }, grant.account);
    }

    // A certificate is public: it says who the peer is only where our TLS handshake proved the
    // peer holds its key (EAP-TLS, TEAP Phase 1). An IDevID's manufacturer is TEAP-BRSKI's finding
    // (Phase 1 chained to that manufacturer's CA). No other method's grant makes a device the
    // domain's or gives it a certificate's MUD URL.
    const proven = CERTIFICATE_METHODS.has(grant.method) ? grant.certificate : undefined;
    const certificateMud = proven ? this.certificateMud(proven) : {};
    // Every certificate the conversation proved, the inner EAP-TLS ones of TEAP too: one we issued
    // and revoked, or issued to a device since denied, refuses the whole grant.
    const inner = grant.method === 'teap' ? grant.innerCertificates ?? [] : [];
    const innerDevices: string[] = [];
    for (const der of inner) {
      const rec = await this.refuseIfWithdrawn(der);
      if (rec !== undefined) innerDevices.push(rec.deviceId);
    }
    const ldevid = proven ? await this.ldevidDevice(proven) : undefined;
    if (ldevid !== undefined) device(ldevid);
    const idevidManufacturer = grant.method === 'teap' ? grant.manufacturer : undefined;
    // The IDevID's device is named from the certificate, as the registrar names it, never from
    // grant.deviceId: a later Phase-2 step (a machine identity, a TLV method) may have set that.
    if (ldevid === undefined && idevidManufacturer !== undefined && proven !== undefined) {
      const deviceId = idevidDeviceId(idevidManufacturer, proven);
      // No name, no record an administrator could have decided on: refused, as the registrar refuses it.
      if (deviceId === undefined) throw new AccessRefusal(`an IDevID of ${idevidManufacturer} without a readable subject serialNumber`);
      await this.refuseIfDenied(deviceId);
      device(deviceId);
    }
    for (const id of innerDevices) device(id);
    if (ldevid !== undefined || idevidManufacturer !== undefined) {
      const manufacturer = ldevid !== undefined ? parseBrskiDeviceId(ldevid)?.manufacturer : idevidManufacturer;
      return { ...base, deviceClass: 'brski', ...(manufacturer !== undefined ? { manufacturer } : {}), ...certificateMud, ...(grant.account !== undefined ? await this.accountFacts(grant.account) : {}) };
    }
    return this.withAccount({ ...base, deviceClass: 'user', ...certificateMud }, grant.account ?? grant.identity);
  }

  /** What an EAP-NOOB device gets at its next authentication (the portal shows its VLAN). */
  async noobDevice(rec: NoobPeerRecord): Promise<AuthorizationDecision> {
    const facts = await this.withAccount({ method: 'eap-noob', deviceClass: 'noob', ...this.noobMud(rec.peerInfo) }, rec.account);
    return decideAuthorization(this.deps.policy, facts);
  }

  /** What a BRSKI device gets when it authenticates with its LDevID (EAP-TLS). */
  brskiDevice(manufacturer: string): AuthorizationDecision {
    return decideAuthorization(this.deps.policy, { method: LDEVID_METHOD, deviceClass: 'brski', manufacturer });
  }

  /** authorization.users.NAME.vlan of the configuration (the portal's users page shows it). */
  configuredUserVlan(userName: string): Vlan | undefined {
    return this.deps.policy.users.get(userName)?.vlan;
  }

  private async withAccount(facts: AuthorizationFacts, account: string | undefined): Promise<AuthorizationFacts> {
    return account === undefined ? facts : { ...facts, ...(await this.accountFacts(account)) };
  }

  private async accountFacts(account: string): Promise<Pick<AuthorizationFacts, 'account' | 'accountVlan'>> {
    const vlan = (await this.deps.userPolicies?.get(account))?.vlan;
    return { account, ...(vlan !== undefined ? { accountVlan: vlan } : {}) };
  }

  /** The device id (`manufacturer:serial`) when the certificate is an LDevID we issued; AccessRefusal once revoked or its device denied. */
  private async ldevidDevice(der: Uint8Array): Promise<string | undefined> {
    return (await this.refuseIfWithdrawn(der))?.deviceId;
  }

  private async refuseIfWithdrawn(der: Uint8Array): Promise<IssuedCertificateRecord | undefined> {
    const rec = await this.refuseIfRevoked(der);
    if (rec !== undefined) await this.refuseIfDenied(rec.deviceId);
    return rec;
  }

  /** AccessRefusal when `deviceId` is a BRSKI device (`manufacturer:serial`) an administrator denied. */
  private async refuseIfDenied(deviceId: string): Promise<void> {
    if (!this.deps.brskiDevices) return;
    const parsed = parseBrskiDeviceId(deviceId);
    // Our CA also certifies what is no BRSKI device (gangway init's demo client): no record to deny.
    if (!parsed) return;
    const device = await this.deps.brskiDevices.get(parsed.manufacturer, parsed.serialNumber);
    if (device?.status === 'denied') throw new AccessRefusal(`device ${deviceId} was denied by ${device.decidedBy ?? 'an administrator'}`);
  }

  /** The record when `der` is a certificate we issued (issued-revocation.ts: the serial alone could be another CA's). */
  private async refuseIfRevoked(der: Uint8Array): Promise<IssuedCertificateRecord | undefined> {
    if (!this.deps.issuedCertificates) return undefined;
    const rec = await issuedRecordOf(this.deps.issuedCertificates, der);
    if (rec?.revokedAt !== undefined) throw new AccessRefusal(`certificate ${rec.serial} of ${rec.deviceId} is revoked (${rec.revocationReason ?? 'unspecified'})`);
    return rec;
  }

  private certificateMud(der: Uint8Array): Pick<AuthorizationFacts, 'mudUrl'> {
    let raw: string | undefined;
    try {
      raw = mudUrlOfCertificate(der);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'cannot read the client certificate for its MUD URL');
      return {};
    }
    if (raw === undefined) return {};
    const mudUrl = normaliseMudUrl(raw);
    if (mudUrl === undefined) this.deps.log.info({ mudUrl: raw.slice(0, 200) }, 'client certificate MUD URL ignored: not an https URL of at most 2048 characters');
    return mudUrl !== undefined ? { mudUrl } : {};
  }

  private noobMud(peerInfo: string | undefined): Pick<AuthorizationFacts, 'mudUrl'> {
    const member = this.deps.policy.mudPeerInfoMember;
    if (member === undefined || peerInfo === undefined) return {};
    let value: unknown;
    try {
      const o = JSON.parse(peerInfo) as unknown;
      value = o !== null && typeof o === 'object' && !Array.isArray(o) && Object.hasOwn(o, member) ? (o as Record<string, unknown>)[member] : undefined;
    } catch {
      return {};
    }
    if (typeof value !== 'string') return {};
    const mudUrl = normaliseMudUrl(value);
    return mudUrl !== undefined ? { mudUrl } : {};
  }
}

/** `manufacturer:serialNumber` of an IDevID, as the registrar records it; undefined without a readable serialNumber. */
function idevidDeviceId(manufacturer: string, der: Uint8Array): string | undefined {
  const serial = readableSerialNumberOf(der);
  return serial !== undefined ? `${manufacturer}:${serial}` : undefined;
}
