/**
 * Which malloc this process runs on, for the `gangway listening` log line. glibc's is the default;
 * an operator may preload jemalloc (deploy/systemd/gangway.service, docs/deployment.md), which cut
 * the CPU per authentication by about a tenth here (docs/benchmarks.md). The preload works or is
 * ignored by the dynamic loader with a line on stderr, so the log says which one took.
 */
import { readFileSync } from 'node:fs';

export type MallocName = 'jemalloc' | 'tcmalloc' | 'mimalloc' | 'glibc' | 'unknown';

/**
 * Names the allocator: one preloaded (named in LD_PRELOAD and mapped into this process, Linux
 * /proc/self/maps), else glibc's where glibc is mapped. A library merely mapped (a dependency of
 * some add-on) does not replace malloc, so it is not taken for the allocator.
 */
export function mallocInUse(maps?: string, preload = process.env.LD_PRELOAD ?? ''): MallocName {
  let text = maps;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      return 'unknown';
    }
  }
  for (const name of ['jemalloc', 'tcmalloc', 'mimalloc'] as const) {
    const library = new RegExp(`(^|/)lib${name}[^/\\s]*\\.so`, 'm');
    if (preload.split(/[\s:]+/).some((p) => library.test(p)) && library.test(text)) return name;
  }
  // libc.so.6 since glibc 2.34; libc-2.31.so and the like before.
  if (/\/libc(?:-[\d.]+)?\.so\b/.test(text)) return 'glibc';
  return 'unknown';
}
