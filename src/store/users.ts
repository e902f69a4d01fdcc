import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * The users aggregate: accounts that inner password methods (EAP-MSCHAPv2, TEAP
 * Basic-Password-Auth) authenticate against. Protocol-neutral: the store keeps whatever credential
 * forms it is given and never computes protocol hashes itself.
 *
 * Credential forms and their trade-offs:
 *  - `ntHash` (MD4 of the UTF-16LE password, 16 octets) is what MS-CHAPv2 needs: the server must
 *    recompute the NT-Response from it. It is unsalted and fast, and it is password-equivalent for
 *    MS-CHAPv2 (whoever has it can authenticate as the user without knowing the password). Store it
 *    only for users who must use EAP-MSCHAPv2, and protect the database file accordingly.
 *  - `passwordHash` is a salted scrypt hash (node:crypto). Basic-Password-Auth receives the clear
 *    password inside the tunnel, so it can be checked against this slow hash. It cannot serve
 *    MS-CHAPv2.
 *  A user may have both; Basic-Password-Auth prefers `passwordHash` and falls back to `ntHash`.
 *
 * The interface is asynchronous so that a PostgreSQL implementation can follow unchanged.
 */
export interface UserRecord {
  name: string;
  /** NT password hash for MS-CHAPv2; password-equivalent, handle as a secret. */
  ntHash?: Uint8Array;
  /** `scrypt$N$r$p$<salt b64>$<hash b64>` (see hashPassword). */
  passwordHash?: string;
  enabled: boolean;
  created: Date;
}

export interface NewUser {
  name: string;
  ntHash?: Uint8Array;
  passwordHash?: string;
  enabled?: boolean;
}

export interface UserStore {
  get(name: string): Promise<UserRecord | undefined>;
  /** Throws UserExistsError if the name is taken. */
  add(user: NewUser): Promise<UserRecord>;
  /** True when a user was removed. */
  remove(name: string): Promise<boolean>;
  list(): Promise<UserRecord[]>;
  setEnabled(name: string, enabled: boolean): Promise<boolean>;
}

export class UserExistsError extends Error {
  constructor(readonly userName: string) {
    super(`user "${userName}" already exists`);
  }
}

/** Names are what inner methods send (EAP identities, Basic-Password usernames): keep them sane. */
export function validateUserName(name: string): void {
  if (name.length === 0 || Buffer.byteLength(name, 'utf8') > 253) throw new Error('user name must be 1..253 octets');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new Error('user name must not contain control characters');
}

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/**
 * 2^15 × 8 × 1 takes 32 MiB and roughly 50-100 ms per check: a deliberate cost per
 * Basic-Password attempt that a RADIUS server under load can still afford. The parameters are
 * stored with each hash, so raising them later only affects new or reset passwords.
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 32768, r: 8, p: 1 });
const SALT_LENGTH = 16;
const KEY_LENGTH = 32;

function scrypt(password: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, KEY_LENGTH, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A salted scrypt hash; runs on the libuv thread pool, not the event loop. */
export async function hashPassword(password: string | Uint8Array, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(Buffer.from(password), salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * The password hash of the stand-in row a store's lookup returns for a name without an account
 * (enumeration timing, docs/security.md): as long as a default `hashPassword` string (N 2^15,
 * 16-octet salt, 32-octet key), so that reading it costs what reading a real one costs.
 */
export const STAND_IN_PASSWORD_HASH = `scrypt$32768$8$1$${'A'.repeat(22)}==$${'A'.repeat(43)}=`;

/**
 * One column of that lookup, in SQL both stores speak: `value` where the left join of one row
 * found no account (`u` is the users table), the account's own column otherwise.
 */
export function standInColumn(column: string, value: string): string {
  return `CASE WHEN u.name IS NULL THEN ${value} ELSE u.${column} END AS ${column}`;
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password with the default parameters, made once per process. Checking an
 * attempt for an unknown, disabled or locked account against it costs what checking a real
 * account costs, so the time to answer does not tell which accounts exist.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(24));
  return dummy;
}

/** Constant-time check of a password against a hashPassword() string; false on a malformed hash. */
export async function verifyPassword(password: string | Uint8Array, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || (N & (N - 1)) !== 0 || N > 2 ** 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (expected.length === 0) return false;
  const key = await scrypt(Buffer.from(password), salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
