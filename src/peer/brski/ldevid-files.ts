/**
 * The pledge's enrolment on disk: ldevid.pem (LDevID, then any intermediate CAs), ldevid.key
 * (PKCS#8, mode 0600 from its creation) and ca.pem (the domain trust anchors, for validating the
 * server in later EAP-TLS runs). Each file is written durably beside its final name and renamed over
 * it (util/atomic-file.ts), so no file is ever seen half written.
 *
 * Replacing a certificate and its key takes two renames, and two renames are not one step: the key
 * of the pair in place is kept as ldevid.key.prev until both are done (replacePair), and
 * repairInterruptedRenewal undoes a replacement stopped between them. Whoever writes or repairs
 * holds the directory's lock (lockLdevidDirectory), so that a repair never mistakes another run's
 * replacement in progress for an interrupted one.
 */
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../../util/atomic-file.js';
import type { Enrollment } from './pledge.js';

export const LDEVID_FILES = {
  certificate: 'ldevid.pem', key: 'ldevid.key', trustAnchors: 'ca.pem', voucher: 'voucher.vcj',
  /** During a renewal: the key of the certificate being replaced, until the new certificate is in place. */
  previousKey: 'ldevid.key.prev',
  /** Held by the one process writing or repairing the directory; holds its pid. */
  lock: 'ldevid.lock',
} as const;

/** Another process holds the directory's lock, or is taking it over. */
export class LdevidDirectoryLockedError extends Error {
  override readonly name = 'LdevidDirectoryLockedError';
  constructor(readonly dir: string, readonly holder: string) {
    super(`${dir} is in use by another process (${holder}; if none runs, remove ${join(dir, LDEVID_FILES.lock)})`);
  }
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22), where /proc tells it. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name's closing parenthesis begin with field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** What a lock file says: the pid, start time (or -) and host of its taker, and a nonce. */
interface LockHolder {
  pid: number;
  start: string;
  host: string;
}

function parseLock(text: string): LockHolder | undefined {
  const m = /^(\d+) (\S+) (\S+) [0-9a-f]+\n$/.exec(text);
  return m ? { pid: Number(m[1]), start: m[2]!, host: m[3]! } : undefined;
}

/**
 * Whether the lock's taker still runs. A lock of another host is held (we cannot tell), and so is
 * one of this very process (it must not take its own). A pid that runs but started at another time
 * than the taker is a pid used again. A lock that does not parse was left by nothing of ours that runs.
 */
function held(text: string): boolean {
  const h = parseLock(text);
  if (!h) return false;
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    // EPERM: it exists, as another user's.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(h.pid);
  return h.start === '-' || start === undefined || start === h.start;
}

/** How long a takeover may take before its guard is thought left by a process that stopped. */
const TAKEOVER_GUARD_MS = 10_000;

/**
 * Takes the directory's lock (creating the directory, mode 0700, if need be) and returns its
 * release. The lock file is linked into place whole, so it is never seen empty; a lock whose taker
 * no longer runs is taken over under a second, short-lived guard, so that two runs finding the same
 * stale lock cannot both replace it. Creating files here is also the proof that the LDevID can be
 * written here, before anything is asked of a registrar.
 */
export function lockLdevidDirectory(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, LDEVID_FILES.lock);
  const guard = `${lock}.takeover`;
  const mine = `${process.pid} ${processStart(process.pid) ?? '-'} ${hostname()} ${randomBytes(8).toString('hex')}\n`;
  const release = (): void => {
    if (readOrUndefined(lock) === mine) rmSync(lock, { force: true });
  };
  const tmp = join(dir, `.${LDEVID_FILES.lock}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, mine, { mode: 0o600, flag: 'wx' });
  try {
    let holder = 'another run';
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, lock);
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const seen = readOrUndefined(lock);
      // Released meanwhile: try again.
      if (seen === undefined) continue;
      const h = parseLock(seen);
      holder = h ? `pid ${h.pid} on ${h.host}` : 'an unreadable lock';
      if (held(seen)) throw new LdevidDirectoryLockedError(dir, holder);
      try {
        linkSync(tmp, guard);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Another run is taking it over, or stopped while it did.
        let age = 0;
        try {
          age = Date.now() - statSync(guard).mtimeMs;
        } catch {
          // Gone meanwhile.
        }
        if (age > TAKEOVER_GUARD_MS) rmSync(guard, { force: true });
        continue;
      }
      try {
        // Only the stale lock judged above is replaced, not one another run put there meanwhile.
        if (readOrUndefined(lock) === seen) {
          rmSync(lock, { force: true });
          linkSync(tmp, lock);
          return release;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        rmSync(guard, { force: true });
      }
    }
    throw new LdevidDirectoryLockedError(dir, holder);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Our own temporary files (util/atomic-file.ts names them .NAME.PID.HEX.tmp) that a stop left behind: key copies among them. */
const STRAY = /^\.(ldevid\.pem|ldevid\.key|ldevid\.key\.prev|ldevid\.lock|ca\.pem|voucher\.vcj)\.\d+\.[0-9a-f]+\.tmp$/;

/** Removes them; only under the directory's lock, when no write of ours can be in progress. */
export function removeStrayTemporaryFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (STRAY.test(name)) rmSync(join(dir, name), { force: true });
}

export interface WrittenLdevid {
  certificate: string;
  key: string;
  trustAnchors: string;
  /** The voucher as the MASA signed it (application/voucher-cms+json, DER): the device's proof of ownership. */
  voucher: string;
}

function pem(der: Uint8Array): string {
  return new X509Certificate(der).toString();
}

function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

const PRIVATE = { mode: 0o600 };
const PUBLIC = { mode: 0o644 };

/**
 * The enrolment's files. The trust anchors and the voucher go first: a pair without the anchors to
 * check the server by would be useless. Then the key and the certificate (replacePair).
 */
export function writeLdevid(dir: string, e: Enrollment): WrittenLdevid {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: WrittenLdevid = {
    certificate: join(dir, LDEVID_FILES.certificate),
    key: join(dir, LDEVID_FILES.key),
    trustAnchors: join(dir, LDEVID_FILES.trustAnchors),
    voucher: join(dir, LDEVID_FILES.voucher),
  };
  writeFileAtomically(out.trustAnchors, e.trustAnchors.map(pem).join(''), PUBLIC);
  writeFileAtomically(out.voucher, e.voucher.der, PUBLIC);
  replacePair(dir, e.privateKey, [e.ldevid, ...e.intermediates]);
  return out;
}

export interface WrittenRenewal {
  certificate: string;
  key: string;
  trustAnchors: string;
}

/** A re-enrolment's new LDevID and key, over whatever pair `dir` holds (replacePair). */
export function writeRenewedLdevid(
  dir: string,
  renewal: { ldevid: Uint8Array; intermediates: Uint8Array[]; privateKey: KeyObject; trustAnchors: Uint8Array[] },
): WrittenRenewal {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: WrittenRenewal = {
    certificate: join(dir, LDEVID_FILES.certificate),
    key: join(dir, LDEVID_FILES.key),
    trustAnchors: join(dir, LDEVID_FILES.trustAnchors),
  };
  writeFileAtomically(out.trustAnchors, renewal.trustAnchors.map(pem).join(''), PUBLIC);
  replacePair(dir, renewal.privateKey, [renewal.ldevid, ...renewal.intermediates]);
  return out;
}

/** The key of the certificate and key `dir` holds, when they belong together. */
function keyOfPairInPlace(dir: string): KeyObject | undefined {
  const certificate = firstCertificate(dir);
  const text = readOrUndefined(join(dir, LDEVID_FILES.key));
  if (certificate === undefined || text === undefined) return undefined;
  try {
    const key = createPrivateKey(text);
    return certificate.checkPrivateKey(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Puts a new key and certificate chain in place of the pair `dir` holds. The pair's key is kept as
 * ldevid.key.prev while the new key and then the new certificate are renamed in; it goes once both
 * are. A failure between the renames puts it back; a stop there (power loss) leaves the new key
 * beside the old certificate, which repairInterruptedRenewal undoes at the next load. With no pair
 * in place there is nothing to keep: a stop leaves a key without its certificate, which no one loads.
 */
function replacePair(dir: string, key: KeyObject, chain: readonly Uint8Array[]): void {
  // A replacement stopped here before: its kept key is the only one of the certificate in place.
  repairInterruptedRenewal(dir);
  const keyPath = join(dir, LDEVID_FILES.key);
  const previous = join(dir, LDEVID_FILES.previousKey);
  const current = keyOfPairInPlace(dir);
  if (current) writeFileAtomically(previous, keyPem(current), PRIVATE);
  else rmSync(previous, { force: true });
  try {
    writeFileAtomically(keyPath, keyPem(key), PRIVATE);
    writeFileAtomically(join(dir, LDEVID_FILES.certificate), chain.map(pem).join(''), PUBLIC);
  } catch (err) {
    // The certificate in place is still the old one: its key goes back beside it (whether or not
    // the new key's rename took effect). If even that fails, ldevid.key.prev stays for
    // repairInterruptedRenewal.
    if (current) {
      try {
        writeFileAtomically(keyPath, keyPem(current), PRIVATE);
        rmSync(previous, { force: true });
      } catch {
        // The first error is the one to report.
      }
    }
    throw err;
  }
  rmSync(previous, { force: true });
}

/** What repairInterruptedRenewal found and did. */
export type RenewalRepair =
  /** The new key was in place beside the old certificate: the old certificate's key is back (the new certificate was lost). */
  | 'restored-previous-key'
  /** The renewal had finished but for removing the replaced key, which is now gone. */
  | 'removed-stale-previous-key';

function matches(certificate: X509Certificate, text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    return certificate.checkPrivateKey(createPrivateKey(text));
  } catch {
    return false;
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Finishes or undoes a replacement that stopped before removing ldevid.key.prev: when ldevid.key
 * belongs to the certificate in place, the kept key is stale and is removed; when it does not (or
 * cannot be read) and the kept key does, the kept key is put back as ldevid.key, so that every
 * reader of the directory (EAP-TLS supplicants too) finds a matching pair. Anything else is left for
 * the loader to refuse. Only under the directory's lock: another run's replacement in progress
 * looks exactly like an interrupted one.
 */
export function repairInterruptedRenewal(dir: string): RenewalRepair | undefined {
  const previousPath = join(dir, LDEVID_FILES.previousKey);
  const previous = readOrUndefined(previousPath);
  if (previous === undefined) return undefined;
  const certificate = firstCertificate(dir);
  if (certificate === undefined) return undefined;
  const keyPath = join(dir, LDEVID_FILES.key);
  if (matches(certificate, readOrUndefined(keyPath))) {
    rmSync(previousPath, { force: true });
    return 'removed-stale-previous-key';
  }
  if (!matches(certificate, previous)) return undefined;
  writeFileAtomically(keyPath, previous, PRIVATE);
  rmSync(previousPath, { force: true });
  return 'restored-previous-key';
}

/** The first certificate of ldevid.pem (the LDevID), if it reads. */
function firstCertificate(dir: string): X509Certificate | undefined {
  const first = readOrUndefined(join(dir, LDEVID_FILES.certificate))?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (first === undefined) return undefined;
  try {
    return new X509Certificate(first);
  } catch {
    return undefined;
  }
}
