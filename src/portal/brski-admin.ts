/**
 * What an administrator does with TEAP-BRSKI devices in the portal: approve or deny pledges (the
 * same store write and audit event as `gangway brski approve|deny`; denying also ends the device's
 * live session), pre-approve a serial, list
 * every device and the certificates our registrar CA issued, and revoke an LDevID — which EAP-TLS
 * refuses from the next authentication on, and whose live session is ended through the injected
 * terminator (RFC 5176 Disconnect) when its NAS allows it.
 */
import { X509Certificate } from 'node:crypto';
// Node 20: X509Certificate.toLegacyObject() loads node:tls's internals in an order that leaves
// tls.createSecureContext undefined for the rest of the process when node:tls was not loaded
// before. Loading it here first keeps every later TLS connection of the process working.
import 'node:tls';
import { certificateIdentity, type SubjectFields } from '../eap-methods/certificate-identity.js';
import { canonicalSerialHex } from '../pki/ca/serial.js';
import { revocationReachesReissues, revokeWithReissues } from '../pki/ca/revoke-with-reissues.js';
import type { AccessSessionStore } from '../store/access-sessions.js';
import type { AuditStore } from '../store/audit.js';
import type { BrskiDevice, BrskiDeviceStore } from '../store/brski-devices.js';
import { REVOCATION_REASONS, type IssuedCertificateRecord, type IssuedCertificateStore, type RevocationReason } from '../store/issued-certificates.js';
import type { Log } from '../util/log.js';
import type { Actor, TerminateSession } from './devices.js';

export interface BrskiAdminDeps {
  devices: BrskiDeviceStore;
  certificates: IssuedCertificateStore;
  /** Manufacturer names of the brski section: the ones a serial may be pre-approved for. */
  manufacturers: readonly string[];
  audit: AuditStore;
  log: Log;
  terminate?: TerminateSession;
  /** Which identities' sessions rested on a device's certificate (a TEAP user step after its IDevID, say). */
  sessions?: Pick<AccessSessionStore, 'identitiesOfDevice'>;
}

export type BrskiDecision = 'approved' | 'denied';

export type AdminResult<T = object> = ({ ok: true } & T) | { ok: false; status: number; message: string };

/** The X520 serialNumber an IDevID carries is a PrintableString of at most 64 characters (RFC 5280 A.1, 802.1AR). */
const SERIAL = /^[A-Za-z0-9 '()+,\-./:=?]{1,64}$/;
export const MAX_CERTIFICATES_SHOWN = 500;

export class BrskiAdmin {
  constructor(private readonly deps: BrskiAdminDeps) {}

  get manufacturers(): readonly string[] {
    return this.deps.manufacturers;
  }

  pending(): Promise<BrskiDevice[]> {
    return this.deps.devices.list({ status: 'pending' });
  }

  all(): Promise<BrskiDevice[]> {
    return this.deps.devices.list();
  }

  certificates(): Promise<IssuedCertificateRecord[]> {
    return this.deps.certificates.list(MAX_CERTIFICATES_SHOWN);
  }

  /**
   * Approves or denies a pledge. A device already recorded may be decided whatever its manufacturer
   * and serial look like (they came from its certificate); a serial never seen only for a configured
   * manufacturer and in the IDevID serialNumber's alphabet (pre-approval), so typos do not pile up.
   */
  async decide(manufacturer: string, serialNumber: string, decision: BrskiDecision, actor: Actor, client: string): Promise<AdminResult<{ device: BrskiDevice }>> {
    const known = manufacturer.length > 0 && serialNumber.length > 0 ? await this.deps.devices.get(manufacturer, serialNumber) : undefined;
    if (!known) {
      if (!this.deps.manufacturers.includes(manufacturer)) return { ok: false, status: 400, message: `"${manufacturer.slice(0, 64)}" is not a manufacturer this registrar trusts.` };
      if (!SERIAL.test(serialNumber)) return { ok: false, status: 400, message: 'A serial number is 1 to 64 letters, digits, spaces or \' ( ) + , - . / : = ?' };
    }
    const device = await this.deps.devices.decide(manufacturer, serialNumber, decision, actor.userName, new Date());
    this.deps.audit.append({ at: new Date(), event: `brski.device.${decision}`, subject: `${manufacturer}:${serialNumber}`, detail: { by: actor.userName, via: 'portal', client, ...(known ? {} : { preapproval: true }) } });
    this.deps.log.info({ device: `${manufacturer}:${serialNumber}`, decision, by: actor.userName }, 'portal: BRSKI device decided');
    if (decision === 'denied') await this.disconnectDenied(device, actor);
    return { ok: true, device };
  }

  /**
   * A denied device loses access from its next authentication (the authorizer refuses it); a
   * session it holds now is ended too, under each identity it may have been accepted as: its
   * IDevID's (TEAP-BRSKI names it manufacturer:serial), each unrevoked LDevID's, and any other
   * whose last session rested on one of its certificates (a TEAP user step after the IDevID: the
   * session record names the device). A session accepted while the denial was being written is
   * caught by the second look (watchLate) under those identities; under a new one it is not. The
   * denial stands whatever happens here, so a failure is logged, not passed on.
   */
  private async disconnectDenied(device: BrskiDevice, actor: Actor): Promise<void> {
    const terminate = this.deps.terminate;
    if (!terminate) return;
    const deviceId = `${device.manufacturer}:${device.serialNumber}`;
    const detail = { by: actor.userName, device: deviceId, denied: true };
    // An administrator who approves the device again within the second look's grace undoes the denial.
    const stillWanted = async (): Promise<boolean> => (await this.deps.devices.get(device.manufacturer, device.serialNumber))?.status === 'denied';
    try {
      // The device's own identities: whatever session they hold is the device's.
      const own = new Set<string>([deviceId]);
      for (const c of await this.deps.certificates.listByDevice(deviceId)) {
        if (c.revokedAt !== undefined) continue;
        const identity = authenticatedIdentity(c.der);
        if (identity !== undefined) own.add(identity);
      }
      // Others (a person's, in a tunnel the device opened): only a session that rested on the device.
      const others = ((await this.deps.sessions?.identitiesOfDevice(deviceId)) ?? []).filter((i) => !own.has(i));
      const targets: [string, string | undefined][] = [...[...own].map((i): [string, undefined] => [i, undefined]), ...others.map((i): [string, string] => [i, deviceId])];
      for (const [identity, onlyDevice] of targets) {
        let disconnect;
        try {
          disconnect = await terminate(identity, { watchLate: true, detail, stillWanted, ...(onlyDevice !== undefined ? { onlyDevice } : {}) });
        } catch (err) {
          this.deps.log.error({ err: (err as Error).message, device: deviceId }, 'portal: ending the denied device’s session failed');
          disconnect = { kind: 'failed', detail: (err as Error).message };
        }
        if (disconnect.kind === 'no-session') continue;
        this.deps.audit.append({ at: new Date(), event: 'radius.disconnect', subject: identity, detail: { ...detail, ...disconnect } });
      }
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message, device: deviceId }, 'portal: the denied device’s sessions could not be looked up or recorded; the denial stands');
    }
  }

  async revoke(serialText: string, reasonText: string, actor: Actor, client: string): Promise<AdminResult<{ serial: string; disconnect?: { kind: string } & Record<string, unknown> }>> {
    let serial: string;
    try {
      serial = canonicalSerialHex(serialText);
    } catch {
      return { ok: false, status: 400, message: 'Not a certificate serial number (hexadecimal).' };
    }
    if (!(REVOCATION_REASONS as readonly string[]).includes(reasonText)) return { ok: false, status: 400, message: `The reason must be one of ${REVOCATION_REASONS.join(', ')}.` };
    const reason = reasonText as RevocationReason;
    const rec = await this.deps.certificates.get(serial);
    const at = new Date();
    // Audited as each is made: a failure half-way leaves none unrecorded.
    const revoked = rec
      ? await revokeWithReissues(this.deps.certificates, serial, at, reason, (r) => {
        this.deps.audit.append({ at, event: 'ca.ldevid.revoked', subject: r.serial, detail: { by: actor.userName, reason, device: r.deviceId, via: 'portal', client, ...(r.reissuedFrom ? { reissuedFrom: r.reissuedFrom } : {}) } });
      })
      : [];
    if (!rec || revoked.length === 0) return { ok: false, status: 404, message: 'No unrevoked certificate with this serial number.' };
    if (!this.deps.terminate) return { ok: true, serial };
    const identity = authenticatedIdentity(rec.der);
    if (identity === undefined) return { ok: true, serial };
    let disconnect;
    try {
      // A compromised key's lineage is revoked whole (revoke-with-reissues.ts): any session of the
      // identity may be the thief's, so a session accepted meanwhile is ended too. For other reasons
      // the device's re-enrolled certificate shares this identity and stays valid, and its session is
      // not the revoked one's: no second look. EAP-TLS and TEAP ask again before they succeed.
      disconnect = await this.deps.terminate(identity, { watchLate: revocationReachesReissues(reason) });
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message, serial }, 'portal: ending the revoked device’s session failed');
      disconnect = { kind: 'failed', detail: (err as Error).message };
    }
    this.deps.audit.append({ at: new Date(), event: 'radius.disconnect', subject: identity, detail: { by: actor.userName, certificate: serial, ...disconnect } });
    return { ok: true, serial, disconnect };
  }
}

/** The identity EAP-TLS grants for this certificate (the same rule), which is how its session was recorded. */
function authenticatedIdentity(der: Uint8Array): string | undefined {
  try {
    const legacy = new X509Certificate(der).toLegacyObject();
    const id = certificateIdentity(legacy.subject as unknown as SubjectFields | undefined, legacy.subjectaltname);
    return id.identity;
  } catch {
    return undefined;
  }
}
