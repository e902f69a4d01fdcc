/**
 * Which worker thread gets an Access-Request. A Response continuing a conversation goes to the
 * worker whose octet leads its State (session-table.ts `statePrefix`), so the primary keeps no table
 * of conversations. A request that may begin a conversation (EAP-Start, or an EAP-Response/Identity,
 * which the authenticator begins from whenever its State names no live conversation there) goes to
 * the worker already holding the station's conversations (client entry, source address and
 * Calling-Station-Id: the session table's station key), whatever State it carries, so that a
 * station's conversations are all in one table and its per-station limit is decided there. Any
 * other new conversation goes to the worker with the fewest requests in hand, the lowest index
 * after the last chosen on a tie.
 *
 * The station's worker changes only when a request that may begin a conversation is placed: a
 * State naming a worker (forged or not) moves nothing. A continuing Response keeps the station
 * remembered only once its worker has shown that the State was a live conversation (`continued`).
 */

/** State of a worker's conversation: its octet and 16 random ones. */
export const WORKER_STATE_OCTETS = 17;

/** What the router needs to know of a request. */
export interface RoutedRequest {
  state: Uint8Array | undefined;
  /** The session table's station key; undefined without a Calling-Station-Id. */
  station: string | undefined;
  /** EAP-Start or an EAP-Response/Identity: a conversation may begin from it. */
  begins: boolean;
}

export interface Route {
  worker: number;
  /** Sent where its State names: the station is remembered only if the worker knew that State. */
  byState: boolean;
}

interface Affinity {
  worker: number;
  lastSeen: number;
}

export class ConversationRouter {
  /** Station key → worker, least recently seen first. */
  private readonly stations = new Map<string, Affinity>();
  private readonly lost: boolean[];
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
    this.lost = new Array<boolean>(count).fill(false);
  }

  /**
   * The worker for a request. A State naming a lost worker, or no worker, is sent like a new
   * conversation: the worker finds no such State and answers as it does for any unknown State.
   * Throws when every worker is lost.
   */
  route(req: RoutedRequest, load: (worker: number) => number): Route {
    const now = this.now();
    const { state, station } = req;
    const named = state !== undefined && state.length === WORKER_STATE_OCTETS && state[0]! < this.count && !this.lost[state[0]!] ? state[0]! : -1;
    const held = station !== undefined ? this.held(station, now) : -1;
    if (!req.begins && named >= 0) return { worker: named, byState: true };
    if (held >= 0) {
      this.remember(station!, held, now);
      return { worker: held, byState: false };
    }
    if (!req.begins) return { worker: this.leastLoaded(load), byState: false };
    // A station with no conversation anywhere: the State's worker when it names one (the peer's
    // Identity after an EAP-Start it answered there), else the least loaded. Either way the station
    // may now hold a conversation there, and only there.
    const worker = named >= 0 ? named : this.leastLoaded(load);
    if (station !== undefined) this.remember(station, worker, now);
    return { worker, byState: false };
  }

  /** The worker answered a Response routed by its State within that State's conversation: the station is still there. */
  continued(station: string, worker: number): void {
    if (!this.lost[worker]) this.remember(station, worker, this.now());
  }

  /** A worker is gone: no new conversation goes to it, and its States are unknown everywhere. */
  markLost(worker: number): void {
    this.lost[worker] = true;
  }

  /** Stations remembered now (for tests). */
  get remembered(): number {
    return this.stations.size;
  }

  private held(station: string, now: number): number {
    const held = this.stations.get(station);
    return held !== undefined && now - held.lastSeen < this.holdMs && !this.lost[held.worker] ? held.worker : -1;
  }

  private leastLoaded(load: (worker: number) => number): number {
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 0; k < this.count && bestLoad > 0; k++) {
      const i = (this.next + k) % this.count;
      if (this.lost[i]) continue;
      const l = load(i);
      if (l < bestLoad) {
        best = i;
        bestLoad = l;
      }
    }
    if (best < 0) throw new Error('no worker thread is left to run conversations');
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
