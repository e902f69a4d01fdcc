import { mallocInUse } from '../../src/util/malloc.js';

const line = (path: string): string => `7f1c2a600000-7f1c2a628000 r--p 00000000 fe:01 1234  ${path}\n`;

describe('mallocInUse', () => {
  test('names a preloaded allocator before glibc, whose libc is always mapped', () => {
    const libc = line('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(mallocInUse(libc + line('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2'))).toBe('jemalloc');
    expect(mallocInUse(line('/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4') + libc)).toBe('tcmalloc');
    expect(mallocInUse(libc + line('/usr/lib/x86_64-linux-gnu/libmimalloc.so.2'))).toBe('mimalloc');
    expect(mallocInUse(libc + line('/usr/bin/node'))).toBe('glibc');
    expect(mallocInUse(line('/usr/bin/node') + line('/lib/ld-musl-x86_64.so.1'))).toBe('unknown');
  });

  test('a library whose name only contains "jemalloc" in a directory is not taken for it', () => {
    expect(mallocInUse(line('/opt/jemalloc-tools/libc.so.6'))).toBe('glibc');
  });

  test('this process, on Linux: one of the names, glibc unless something was preloaded', () => {
    const name = mallocInUse();
    expect(['jemalloc', 'tcmalloc', 'mimalloc', 'glibc', 'unknown']).toContain(name);
    if (process.platform === 'linux' && !process.env.LD_PRELOAD) expect(name).toBe('glibc');
  });
});
