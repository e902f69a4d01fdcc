/**
 * Which worker thread gets an Access-Request. A Response continuing a conversation goes to the
 * worker whose octet leads its State (session-table.ts `statePrefix`), so the primary keeps no table
 * of conversations. A new conversation goes to the worker already holding one for the same station
 * (client entry, source address and Calling-Station-Id: the session table's station key), so the
 * per-station limit is decided by one table, exactly as with one thread; any other goes to the
 * worker with the fewest requests in hand, the lowest index after the last chosen on a tie.
 */

/** State of a worker's conversation: its octet and 16 random ones. */
export const WORKER_STATE_OCTETS = 17;

interface Affinity {
  worker: number;
  lastSeen: number;
}

export class ConversationRouter {
  /** Station key → worker, least recently seen first. */
  private readonly stations = new Map<string, Affinity>();
  private next = 0;

  constructor(
    private readonly count: number,
    /** A station's worker is remembered this long after its last packet (the conversations' idle timeout). */
    private readonly holdMs: number,
    /** Stations remembered at most (the session table's total size): the oldest goes first. */
    private readonly maxStations: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(count) || count < 1 || count > 256) throw new RangeError('worker count must be 1..256');
  }

  /**
   * The worker for a request: by State when it names a worker, else by the station's worker, else
   * the least loaded. A State that names no worker is sent like a new conversation: the worker
   * finds no such State and answers as it does for any unknown State.
   */
  route(state: Uint8Array | undefined, station: string | undefined, load: (worker: number) => number): number {
    const now = this.now();
    let worker = state !== undefined && state.length === WORKER_STATE_OCTETS && state[0]! < this.count ? state[0]! : -1;
    if (worker < 0 && station !== undefined) {
      const held = this.stations.get(station);
      if (held !== undefined && now - held.lastSeen < this.holdMs) worker = held.worker;
    }
    if (worker < 0) worker = this.leastLoaded(load);
    if (station !== undefined) this.remember(station, worker, now);
    return worker;
  }

  /** Stations remembered now (for tests). */
  get remembered(): number {
    return this.stations.size;
  }

  private leastLoaded(load: (worker: number) => number): number {
    let best = this.next;
    let bestLoad = load(best);
    for (let k = 1; k < this.count && bestLoad > 0; k++) {
      const i = (this.next + k) % this.count;
      const l = load(i);
      if (l < bestLoad) {
        best = i;
        bestLoad = l;
      }
    }
    this.next = (best + 1) % this.count;
    return best;
  }

  private remember(station: string, worker: number, now: number): void {
    // Re-inserted so that Map order stays least recently seen first.
    this.stations.delete(station);
    while (this.stations.size >= this.maxStations) {
      const oldest = this.stations.keys().next();
      if (oldest.done) break;
      this.stations.delete(oldest.value);
    }
    this.stations.set(station, { worker, lastSeen: now });
  }
}
