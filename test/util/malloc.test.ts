import { mallocInUse } from '../../src/util/malloc.js';

const line = (path: string): string => `7f1c2a600000-7f1c2a628000 r--p 00000000 fe:01 1234  ${path}\n`;
const libc = line('/usr/lib/x86_64-linux-gnu/libc.so.6');
const jemalloc = line('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');

describe('mallocInUse', () => {
  test('a preloaded allocator that is mapped, by path or by bare name, comes before glibc', () => {
    expect(mallocInUse(libc + jemalloc, '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2')).toBe('jemalloc');
    expect(mallocInUse(libc + jemalloc, 'libjemalloc.so.2')).toBe('jemalloc');
    expect(mallocInUse(libc + jemalloc, '/usr/lib/libother.so libjemalloc.so.2')).toBe('jemalloc');
    expect(mallocInUse(line('/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4') + libc, 'libtcmalloc_minimal.so.4')).toBe('tcmalloc');
    expect(mallocInUse(libc + line('/usr/lib/x86_64-linux-gnu/libmimalloc.so.2'), '/usr/lib/x86_64-linux-gnu/libmimalloc.so.2')).toBe('mimalloc');
  });

  test('mapped without being preloaded (some library\'s dependency), or preloaded and not mapped (the loader ignored it): glibc', () => {
    expect(mallocInUse(libc + jemalloc, '')).toBe('glibc');
    expect(mallocInUse(libc + line('/usr/bin/node'), 'libjemalloc.so.2')).toBe('glibc');
  });

  test('glibc before 2.34 maps libc-2.x.so; no glibc at all is unknown', () => {
    expect(mallocInUse(line('/lib/x86_64-linux-gnu/libc-2.31.so'), '')).toBe('glibc');
    expect(mallocInUse(line('/usr/bin/node') + line('/lib/ld-musl-x86_64.so.1'), '')).toBe('unknown');
  });

  test('this process, on Linux: glibc unless something was preloaded', () => {
    const name = mallocInUse();
    expect(['jemalloc', 'tcmalloc', 'mimalloc', 'glibc', 'unknown']).toContain(name);
    if (process.platform === 'linux' && !process.env.LD_PRELOAD) expect(name).toBe('glibc');
  });
});
