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
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { nativeAddonPart } from '../../util/native-addon.js';
import { join } from 'node:path';
import { writeFileAtomically } from '../../util/atomic-file.js';
import { parsePemCertificates } from '../../pki/pem-certificates.js';
import type { Enrollment } from './pledge.js';

export const LDEVID_FILES = {
  certificate: 'ldevid.pem', key: 'ldevid.key', trustAnchors: 'ca.pem', voucher: 'voucher.vcj',
  /** During a renewal: the key of the certificate being replaced, until the new certificate is in place. */
  previousKey: 'ldevid.key.prev',
  /** Held by the one process writing or repairing the directory; holds its pid. */
  lock: 'ldevid.lock',
} as const;

/** Another process holds the directory's lock. */
export class LdevidDirectoryLockedError extends Error {
  override readonly name = 'LdevidDirectoryLockedError';
  constructor(readonly dir: string, readonly holder: string) {
    super(`${dir} is in use by another process (${holder})`);
  }
}

interface FileLockAddon {
  /** flock(fd, LOCK_EX | LOCK_NB): true when this process now holds it, false when another does. */
  tryLockFile(fd: number): boolean;
}

export interface LdevidDirectoryLock {
  release(): void;
  /** Why no lock is held (the addon is absent, or the file system has no flock): runs are then not kept apart. */
  unlocked?: string;
}

/** flock's answers when a file system cannot lock (the addon names them): the run goes on unlocked rather than not at all. */
const NO_FLOCK = new Set(['EOPNOTSUPP', 'ENOLCK', 'EINVAL']);

/**
 * Takes the lock of an existing directory: the kernel's lock on its ldevid.lock (flock, from the
 * native addon). It ends with the process however the process ends, so a killed run leaves nothing
 * another must judge stale and take over. The file stays, empty once released: removing it would
 * let a run that opened it just before lock a file the next run no longer finds. Without the addon
 * (or where the file system cannot flock) no lock is taken and `unlocked` says why; a lock file
 * that persisted after every crash would be worse than none. Opening the lock file is also the
 * proof that files can be made here, before a registrar is asked for anything.
 */
export function lockLdevidDirectory(dir: string): LdevidDirectoryLock {
  const path = join(dir, LDEVID_FILES.lock);
  // Not through a symbolic link: the file is truncated once locked.
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const addon = nativeAddonPart<FileLockAddon>('GANGWAY_NATIVE_FILE_LOCK', ['tryLockFile']);
  let locked = false;
  try {
    if (!addon) return { release: () => undefined, unlocked: 'the native addon is not loaded (GANGWAY_NATIVE_FILE_LOCK=0, or npm install did not build it)' };
    try {
      locked = addon.tryLockFile(fd);
    } catch (err) {
      if (!NO_FLOCK.has(String((err as { code?: unknown }).code))) throw err;
      return { release: () => undefined, unlocked: `the file system of ${dir} cannot lock files (${(err as Error).message})` };
    }
    if (!locked) throw new LdevidDirectoryLockedError(dir, readOrUndefined(path)?.trim() || 'its pid unknown');
    ftruncateSync(fd, 0);
    writeSync(fd, `pid ${process.pid} on ${hostname()}\n`, 0);
  } finally {
    if (!locked) closeSync(fd);
  }
  return {
    release: () => {
      try {
        ftruncateSync(fd, 0);
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** Our own temporary files (util/atomic-file.ts names them .NAME.PID.HEX.tmp) that a stop left behind: key copies among them. */
const STRAY = /^\.(ldevid\.pem|ldevid\.key|ldevid\.key\.prev|ca\.pem|voucher\.vcj)\.\d+\.[0-9a-f]+\.tmp$/;

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

/** A re-enrolment's new LDevID and key, over whatever pair `dir` holds (replacePair); the anchors first, as for an enrolment. */
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
  const text = readOrUndefined(join(dir, LDEVID_FILES.certificate));
  try {
    return text === undefined ? undefined : parsePemCertificates(text)[0];
  } catch {
    return undefined;
  }
}
