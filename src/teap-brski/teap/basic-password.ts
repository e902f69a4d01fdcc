import { timingSafeEqual } from 'node:crypto';
import type { UserRecord, UserStore } from '../../store/users.js';
import { dummyPasswordHash, verifyPassword } from '../../store/users.js';
import type { LockoutGate, LockoutVerdict } from '../../eap-methods/password-lockout.js';
import { ntPasswordHash } from '../../eap-methods/mschapv2/ms-chap-v2.js';
import type { BasicPasswordAuthRespTlv } from './basic-password-tlv.js';

/**
 * Basic-Password-Auth (RFC 9930 §3.6.2): a username and clear password inside the tunnel. It is an
 * inner method made of TLVs, not an EAP method, and exports no keys (zero IMSK, §6.2.1).
 */

export type BasicPasswordResult =
  | { ok: true; username: string }
  | { ok: false; username: string; reason: string };

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(b: Uint8Array): string | undefined {
  try {
    return fatalUtf8.decode(b);
  } catch {
    return undefined;
  }
}

export interface BasicPasswordContext {
  /** Failure throttling; without it every attempt is checked. */
  lockout?: LockoutGate;
  /** Where the attempt came from (`nasKey` of the conversation's NAS). */
  nas?: string;
}

/**
 * Checks the response against the user store: the salted scrypt hash when the account has one,
 * else the NT hash (so MSCHAPv2-only accounts can also use Basic-Password-Auth). The password is
 * any octet string (RFC 9930 §4.2.15), but the NT-hash path needs text, so it requires UTF-8.
 *
 * Every attempt costs exactly one scrypt, whatever the account: its own hash when it has one, the
 * dummy hash when it is unknown, disabled, locked or NT-hash-only. So the time to answer tells
 * neither whether the name exists nor whether it is locked. The wire answer is the same for all.
 */
export async function verifyBasicPassword(
  users: Pick<UserStore, 'get'>,
  resp: BasicPasswordAuthRespTlv,
  context: BasicPasswordContext = {},
): Promise<BasicPasswordResult> {
  const username = decodeUtf8(resp.username);
  if (username === undefined) return { ok: false, username: Buffer.from(resp.username).toString('hex'), reason: 'username is not UTF-8' };
  const nas = context.nas ?? '';
  const lockout = context.lockout;
  const verdict: LockoutVerdict | undefined = lockout ? await lockout.check(username, nas) : undefined;
  let result: BasicPasswordResult;
  try {
    const record = await users.get(username);
    const usable = verdict?.locked !== true && record !== undefined && record.enabled;
    const scryptHash = usable && record.passwordHash ? record.passwordHash : await dummyPasswordHash();
    const scryptOk = await verifyPassword(resp.password, scryptHash);
    result = judge(username, resp, record, scryptOk && usable && record.passwordHash !== undefined);
  } catch (err) {
    // Nothing was judged (the store failed to read the account): the attempt counts for nothing.
    if (verdict?.locked === false) lockout!.abandon(username, verdict.attempt);
    throw err;
  }
  if (verdict?.locked) {
    return { ok: false, username, reason: `${verdict.scope === 'nas' ? 'this NAS' : `account "${username}"`} is locked out until ${new Date(verdict.until).toISOString()}` };
  }
  if (verdict !== undefined) {
    if (result.ok) lockout!.success(username, verdict.attempt);
    else lockout!.failure(username, nas, verdict.attempt);
  }
  return result;
}

function judge(username: string, resp: BasicPasswordAuthRespTlv, record: UserRecord | undefined, scryptOk: boolean): BasicPasswordResult {
  if (!record) return { ok: false, username, reason: `unknown user "${username}"` };
  if (!record.enabled) return { ok: false, username, reason: `user "${username}" is disabled` };
  if (record.passwordHash) return scryptOk ? { ok: true, username } : { ok: false, username, reason: `wrong password for "${username}"` };
  if (record.ntHash) {
    const text = decodeUtf8(resp.password);
    if (text === undefined) return { ok: false, username, reason: 'password is not UTF-8 (needed to check it against the NT hash)' };
    const h = ntPasswordHash(text);
    const ok = h.length === record.ntHash.length && timingSafeEqual(h, record.ntHash);
    return ok ? { ok: true, username } : { ok: false, username, reason: `wrong password for "${username}"` };
  }
  return { ok: false, username, reason: `user "${username}" has no password credential` };
}
