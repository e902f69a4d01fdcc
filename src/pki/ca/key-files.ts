import { chmodSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { CaDirectoryError } from './errors.js';

/** Permission bits for the CA directory and the private key: owner only. */
export const CA_DIRECTORY_MODE = 0o700;
export const PRIVATE_KEY_MODE = 0o600;

/** A CA key file is small PEM; anything larger is not ours, so do not read it into memory. */
const MAX_PEM_FILE = 64 * 1024;

/**
 * Creates the directory (and missing parents) owner-only. An existing directory keeps its mode: it
 * may be shared on purpose, and the key file's own mode is what `readPrivateKeyFile` enforces.
 */
export function ensurePrivateDirectory(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: CA_DIRECTORY_MODE });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new CaDirectoryError(dir, 'is not a directory');
  // mkdir's mode passes through the umask, which could even clear the owner's bits: set it exactly.
  if (created !== undefined && (st.mode & 0o777) !== CA_DIRECTORY_MODE) chmodSync(dir, CA_DIRECTORY_MODE);
}

/**
 * Reads a private key file, refusing one that group or others may access. The mode is checked on
 * the open descriptor, so the file checked is the file read.
 */
export function readPrivateKeyFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CaDirectoryError(path, 'private key is not a regular file');
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new CaDirectoryError(path, `private key is accessible by group or others (mode ${mode}); run chmod 600 on it`);
    }
    if (st.size > MAX_PEM_FILE) throw new CaDirectoryError(path, `private key file is larger than ${MAX_PEM_FILE} octets`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads a public PEM file with the same size bound. */
export function readPublicFile(path: string): string {
  const st = statSync(path);
  if (!st.isFile()) throw new CaDirectoryError(path, 'is not a regular file');
  if (st.size > MAX_PEM_FILE) throw new CaDirectoryError(path, `larger than ${MAX_PEM_FILE} octets`);
  return readFileSync(path, 'utf8');
}
