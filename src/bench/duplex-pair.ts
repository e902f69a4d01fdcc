import { Duplex } from 'node:stream';

/**
 * Two connected in-memory streams: what one end writes, the other reads. Node 20 has no
 * stream.duplexPair (it came in 22), and a loopback TCP socket would add kernel work to a figure
 * meant to be the bare TLS cost.
 */
class PairEnd extends Duplex {
  other: PairEnd | undefined;

  override _read(): void {
    // Data arrives when the other end writes.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.other?.push(chunk);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.other?.push(null);
    cb();
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}
