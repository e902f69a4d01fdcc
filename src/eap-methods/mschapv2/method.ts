import { randomBytes } from 'node:crypto';
import { randomOctet, randomOctets } from '../../util/random-octets.js';
import type { EapMethod, EapMethodSession, MethodContext, Step } from '../method.js';
import type { UserRecord, UserStore } from '../../store/users.js';
import { EapType } from '../eap-packet.js';
import { PasswordLockout, nasKey, type LockoutGate } from '../password-lockout.js';
import { clipForLog } from '../../util/log-fields.js';
import { CHALLENGE_LENGTH, MschapV2OpCode, MschapV2PacketError, decodeMschapV2, encodeMschapV2 } from './packet.js';
import { deriveMschapV2Keys, generateAuthenticatorResponse, generateNtResponse, ntResponseEqual, stripDomain } from './ms-chap-v2.js';

export interface MschapV2MethodConfig {
  /** Looks up NT hashes by user name (RFC 2759 needs the NT hash; see store/users.ts). */
  users: Pick<UserStore, 'get'>;
  /** Name sent in the Challenge (the "authenticator name"); hostapd sends "hostapd". */
  serverName?: string;
  /** Failure throttling; default: one of DEFAULT_PASSWORD_LOCKOUT for this method. */
  lockout?: LockoutGate;
}

/**
 * Checked in place of an NT hash for unknown, disabled, locked and NT-hash-less accounts, so that
 * every attempt costs the same NT-Response computation (random per process: it matches nothing).
 */
const DUMMY_NT_HASH = new Uint8Array(randomBytes(16));

type Phase = 'challenge-sent' | 'success-sent' | 'failure-sent' | 'done';

/**
 * EAP-MSCHAPv2 server (RFC 2759 inside the draft-kamath EAP framing). Usable bare or as a TEAP
 * inner method; its MSK is the 32-octet hostapd/wpa_supplicant form (server receive key ‖ server
 * send key). No retries (Failure carries R=0) and no password change: both help online guessing
 * more than users.
 */
export function createMschapV2Method(config: MschapV2MethodConfig): EapMethod {
  const serverName = new Uint8Array(Buffer.from(config.serverName ?? 'gangway', 'utf8'));
  const lockout = config.lockout ?? new PasswordLockout();
  return {
    type: EapType.MsChapV2,
    name: 'eap-mschapv2',
    createSession: (ctx) => new MschapV2ServerSession(ctx, config.users, serverName, lockout),
  };
}

class MschapV2ServerSession implements EapMethodSession {
  private phase: Phase = 'challenge-sent';
  private readonly challenge: Uint8Array = randomOctets(CHALLENGE_LENGTH);
  private readonly msChapId = randomOctet();
  private msk: Uint8Array | undefined;
  private user = '';
  private failureReason = '';

  constructor(
    private readonly ctx: MethodContext,
    private readonly users: Pick<UserStore, 'get'>,
    private readonly serverName: Uint8Array,
    private readonly lockout: LockoutGate,
  ) {}

  async start(): Promise<Step> {
    return { kind: 'request', data: encodeMschapV2({ opCode: 1, msChapId: this.msChapId, challenge: this.challenge, name: this.serverName }) };
  }

  async step(data: Uint8Array): Promise<Step> {
    let packet;
    try {
      packet = decodeMschapV2(data, 'peer');
    } catch (err) {
      if (err instanceof MschapV2PacketError) {
        // A malformed Response in the challenge phase cannot be answered usefully: end the method.
        if (this.phase === 'challenge-sent') return this.fail(`malformed EAP-MSCHAPv2 response: ${err.message}`);
        return { kind: 'discard', reason: err.message };
      }
      throw err;
    }
    switch (this.phase) {
      case 'challenge-sent':
        if (packet.opCode !== MschapV2OpCode.Response || 'ack' in packet) return { kind: 'discard', reason: `expected a Response, got OpCode ${packet.opCode}` };
        if (packet.msChapId !== this.msChapId) return { kind: 'discard', reason: 'MS-CHAPv2-ID of the Response does not match the Challenge' };
        return this.verify(packet.peerChallenge, packet.ntResponse, Buffer.from(packet.name).toString('utf8'));
      case 'success-sent':
        if (packet.opCode === MschapV2OpCode.Success && 'ack' in packet) {
          this.phase = 'done';
          return { kind: 'success', msk: this.msk!.slice(), grant: { identity: this.user, method: 'eap-mschapv2' } };
        }
        if (packet.opCode === MschapV2OpCode.Failure && 'ack' in packet) {
          this.phase = 'done';
          return { kind: 'failure', reason: 'peer rejected our authenticator response' };
        }
        return { kind: 'discard', reason: `expected a Success-Response, got OpCode ${packet.opCode}` };
      case 'failure-sent':
        this.phase = 'done';
        return { kind: 'failure', reason: this.failureReason };
      case 'done':
        return { kind: 'discard', reason: 'EAP-MSCHAPv2 already finished' };
    }
  }

  dispose(): void {
    this.msk?.fill(0);
  }

  private async verify(peerChallenge: Uint8Array, ntResponse: Uint8Array, name: string): Promise<Step> {
    const identity = stripDomain(this.ctx.identity);
    const user = stripDomain(name);
    this.user = user;
    // hostapd compares the EAP identity with the MS-CHAPv2 Name (both without DOMAIN\).
    if (user !== identity) return this.fail(`MS-CHAPv2 Name "${user}" differs from the EAP identity "${identity}"`);
    const nas = nasKey(this.ctx.nas);
    const verdict = await this.lockout.check(user, nas);
    let found: UserRecord | undefined;
    let matched: boolean;
    try {
      found = await this.users.get(user);
      const usableHash = !verdict.locked && found !== undefined && found.enabled ? found.ntHash : undefined;
      // The same NT-Response computation for every account, real or not (see DUMMY_NT_HASH).
      matched = ntResponseEqual(generateNtResponse(this.challenge, peerChallenge, name, usableHash ?? DUMMY_NT_HASH), ntResponse);
    } catch (err) {
      // The account could not be read (the store failed) or the response not computed: nothing
      // was judged, so the attempt counts for nothing; the error ends the conversation as a fault.
      if (!verdict.locked) this.lockout.abandon(user, verdict.attempt);
      throw err;
    }
    const record = found;
    const usable = !verdict.locked && record !== undefined && record.enabled && record.ntHash !== undefined;
    const matches = matched;
    if (verdict.locked) return this.fail(`${verdict.scope === 'nas' ? 'this NAS' : `account "${user}"`} is locked out until ${new Date(verdict.until).toISOString()}`);
    if (!usable || !matches) {
      this.lockout.failure(user, nas, verdict.attempt);
      if (!record) return this.fail(`unknown user "${user}"`);
      if (!record.enabled) return this.fail(`user "${user}" is disabled`);
      if (!record.ntHash) return this.fail(`user "${user}" has no NT hash (EAP-MSCHAPv2 not enabled for this account)`);
      return this.fail(`wrong password for "${user}"`);
    }
    this.lockout.success(user, verdict.attempt);
    const ntHashOk = record.ntHash!;
    const authResponse = generateAuthenticatorResponse(ntHashOk, ntResponse, peerChallenge, this.challenge, name);
    this.msk = deriveMschapV2Keys(ntHashOk, ntResponse).msk;
    this.phase = 'success-sent';
    this.ctx.log.debug({ user }, 'EAP-MSCHAPv2 NT-Response verified');
    return { kind: 'request', data: encodeMschapV2({ opCode: 3, msChapId: this.msChapId, message: `${authResponse} M=OK` }) };
  }

  /** Failure-Request E=691 R=0 whatever the cause, so that the reply does not reveal which accounts exist. */
  private fail(reason: string): Step {
    this.failureReason = reason;
    this.phase = 'failure-sent';
    this.ctx.log.info({ reason: clipForLog(reason) }, 'EAP-MSCHAPv2 authentication failed');
    const c = Buffer.from(randomBytes(16)).toString('hex').toUpperCase();
    return { kind: 'request', data: encodeMschapV2({ opCode: 4, msChapId: this.msChapId, message: `E=691 R=0 C=${c} V=3 M=FAILED` }) };
  }
}
