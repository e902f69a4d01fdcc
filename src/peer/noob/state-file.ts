/**
 * The peer's persistent state in one JSON file. Saving writes a temporary file, fsyncs it and
 * renames it over the old one, so a crash leaves either the old state or the new, never a torn
 * file (rename is atomic on POSIX file systems).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import { INITIAL_PEER_STATE, type NoobPeerState, type PeerStateStore } from './state.js';

export class PeerStateFile implements PeerStateStore {
  constructor(readonly path: string) {}

  async load(): Promise<NoobPeerState> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(INITIAL_PEER_STATE);
      throw e;
    }
    const parsed = JSON.parse(text) as Partial<NoobPeerState>;
    if (parsed.format !== 1 || typeof parsed.state !== 'number' || parsed.state < 0 || parsed.state > 4) {
      throw new Error(`${this.path} is not an EAP-NOOB peer state file`);
    }
    return parsed as NoobPeerState;
  }

  async save(state: NoobPeerState): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    // 0600: the file holds Kz and Z.
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    try {
      const dirFd = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch {
      // Some file systems refuse fsync on directories; the rename is still atomic.
    }
  }
}
