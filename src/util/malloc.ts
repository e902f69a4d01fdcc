/**
 * Which malloc this process runs on, for the `gangway listening` log line. glibc's is the default;
 * an operator may preload jemalloc (deploy/systemd/gangway.service, docs/deployment.md), which cut
 * the CPU per authentication by about a tenth here (docs/benchmarks.md). The preload works or is
 * ignored by the dynamic loader with a line on stderr, so the log says which one took.
 */
import { readFileSync } from 'node:fs';

export type MallocName = 'jemalloc' | 'tcmalloc' | 'mimalloc' | 'glibc' | 'unknown';

/** Names the allocator from the libraries mapped into this process (Linux /proc/self/maps). */
export function mallocInUse(maps?: string): MallocName {
  let text = maps;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      return 'unknown';
    }
  }
  if (/\/libjemalloc[^/\s]*\.so/.test(text)) return 'jemalloc';
  if (/\/libtcmalloc[^/\s]*\.so/.test(text)) return 'tcmalloc';
  if (/\/libmimalloc[^/\s]*\.so/.test(text)) return 'mimalloc';
  if (/\/libc\.so\.6\b/.test(text)) return 'glibc';
  return 'unknown';
}
