import { getHeapSpaceStatistics } from 'node:v8';

/** What the soak tests read after a forced GC; each judges the figures it trusts (see each test). */
export interface SettledMemory {
  rss: number;
  /** RSS less V8's committed heap: where a native leak (OpenSSL, an addon) shows. */
  native: number;
  /** V8 heap used + external memory (Buffers, typed arrays). */
  retained: number;
  /** V8 heap used less its code spaces, which grow as V8 optimises, not with what a test keeps. */
  heapLessCode: number;
  external: number;
}

export function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('this test needs node --expose-gc (as `npm test` runs jest)');
  gc();
}

/** After a forced GC, and another once what was left to the next turn of the event loop (node:tls's frees) is done. */
export async function settledMemory(): Promise<SettledMemory> {
  forceGc();
  await new Promise((r) => setImmediate(r));
  forceGc();
  const m = process.memoryUsage();
  const code = getHeapSpaceStatistics().filter((sp) => sp.space_name.startsWith('code_')).reduce((n, sp) => n + sp.space_used_size, 0);
  return { rss: m.rss, native: m.rss - m.heapTotal, retained: m.heapUsed + m.external, heapLessCode: m.heapUsed - code, external: m.external };
}

export const mb = (n: number): string => (n / 1048576).toFixed(2);
export const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
/** The least of some samples: a leak raises the floor, the wander is made of transient bumps. */
export const floor = (xs: readonly number[]): number => Math.min(...xs);
