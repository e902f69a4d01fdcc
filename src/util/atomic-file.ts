/**
 * Files that a crash must never leave half written: keys, certificates, configuration. The data is
 * written to a fresh file beside the final name (created with its final mode, so a key is never
 * readable by others, not even for a moment), flushed to the disk, and only then given its final
 * name; the directory is flushed after the rename, so the new name survives a power loss too. A
 * crash leaves the old file or the new one, plus at worst a stray temporary file, never a
 * truncated file under the final name.
 */
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file. */
  mode: number;
  /**
   * 'replace' (default) puts the new file in place of an existing one; 'exclusive' refuses
   * (EEXIST) when the final name exists, so a key is never replaced by a concurrent writer.
   */
  existing?: 'replace' | 'exclusive';
}

/** Writes `path` all at once: after a crash it holds the old bytes or `data`, never a part. */
export function writeFileAtomically(path: string, data: string | Uint8Array, options: AtomicWriteOptions): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileDurably(tmp, data, options.mode);
  try {
    commitFile(tmp, path, options.existing ?? 'replace');
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Creates `path` (which must not exist) with `mode`, writes `data` and flushes it to the disk. A
 * failure removes what was written. The first half of an atomic write, for callers that name the
 * temporary file themselves (to find it again after a crash).
 */
export function writeFileDurably(path: string, data: string | Uint8Array, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  let written = false;
  try {
    // The umask can only clear bits, but a file system may ignore the mode at creation: set it again.
    fchmodSync(fd, mode);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(path, { force: true });
  }
}

/**
 * Gives a durably written file its final name. 'exclusive' links it under the final name (EEXIST
 * when that name exists) and removes the temporary name; 'replace' renames over it. Either way the
 * directory is flushed afterwards.
 */
export function commitFile(tmp: string, path: string, existing: 'replace' | 'exclusive'): void {
  if (existing === 'exclusive') {
    linkSync(tmp, path);
    rmSync(tmp, { force: true });
  } else {
    renameSync(tmp, path);
  }
  syncDirectory(dirname(path));
}

/** Flushes a directory's entries (a rename or link in it) to the disk. */
export function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    closeSync(fd);
  }
}
