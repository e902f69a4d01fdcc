/**
 * A flood of new EAP conversations as a hostile or broken NAS sends it: pre-built Access-Requests,
 * each an EAP-Response/Identity with its own Calling-Station-Id and a valid Message-Authenticator,
 * sent from one or more loopback addresses (one RADIUS client each) as fast as the server answers.
 *
 * "As fast as the server answers": each socket keeps a window of requests unanswered; an answer
 * sends the next one. A datagram sent faster than that only dies in the kernel's socket buffer and
 * never reaches the server's admission code, which is what is under test. A request the server
 * drops without answering holds its place until the socket has heard nothing for `stallMs`; then
 * the whole window counts as lost and sending goes on.
 */
import { createSocket, type Socket } from 'node:dgram';
import { encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import { nasAccessRequestAttributes } from '../../src/peer/nas-request.js';
import { buildAccessRequest } from '../../src/radius/index.js';

export interface FloodNas {
  /** Loopback source address, e.g. 127.0.0.2: a RADIUS client entry of its own. */
  address: string;
  secret: string;
}

export interface FloodOptions {
  port: number;
  nases: FloodNas[];
  /** New conversations in all, spread evenly over the NASes. */
  total: number;
  /** Sockets per NAS (the RADIUS Identifier space is per source port). Default: 8 sockets in all, at least one per NAS. */
  socketsPerNas?: number;
  /**
   * Unanswered requests over all sockets. Default 128: the server's default socket buffer
   * (rmem_default, 208 KiB, charged about 1 KiB per small datagram) holds about 200.
   */
  window?: number;
  stallMs?: number;
}

export interface FloodResult {
  sent: number;
  /** Replies received (Access-Challenge for a new conversation). */
  answered: number;
  /** Requests given up after a stall: the server dropped them. */
  lost: number;
  elapsedMs: number;
}

interface Lane {
  socket: Socket;
  packets: Buffer[];
  next: number;
  inFlight: number;
  lastHeard: number;
}

/** Distinct per request: 02-ff-NN-NN-NN-NN, never the 02-00-00-00-00-01 eapol_test uses. */
function stationId(i: number): string {
  const hex = i.toString(16).padStart(8, '0');
  return `02-ff-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}-${hex.slice(6, 8)}`;
}

export class RadiusFlood {
  private readonly lanes: Lane[] = [];
  private sent = 0;
  private answered = 0;
  private lost = 0;
  private started = 0;
  private done: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly opts: Required<FloodOptions>) {}

  /** Builds every packet and binds every socket before anything is sent. */
  static async prepare(options: FloodOptions): Promise<RadiusFlood> {
    const socketsPerNas = options.socketsPerNas ?? Math.max(1, Math.floor(8 / options.nases.length));
    const laneCount = options.nases.length * socketsPerNas;
    const opts: Required<FloodOptions> = { stallMs: 250, ...options, socketsPerNas, window: Math.max(1, Math.floor((options.window ?? 128) / laneCount)) };
    const flood = new RadiusFlood(opts);
    for (let l = 0; l < laneCount; l++) {
      const nas = opts.nases[l % opts.nases.length]!;
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, nas.address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      flood.lanes.push({ socket, packets: [], next: 0, inFlight: 0, lastHeard: 0 });
    }
    for (let i = 0; i < opts.total; i++) {
      const lane = flood.lanes[i % laneCount]!;
      const nas = opts.nases[(i % laneCount) % opts.nases.length]!;
      const user = `flood-${i}@flood.example`;
      const eap = encodeEap({ code: 2, identifier: i & 0xff, type: EapType.Identity, data: Buffer.from(user) });
      const attributes = nasAccessRequestAttributes({ userName: user, callingStationId: stationId(i), nasIdentifier: `flood-nas-${nas.address}` }, eap, undefined);
      const request = buildAccessRequest({ identifier: lane.packets.length & 0xff, attributes, secret: nas.secret });
      lane.packets.push(Buffer.from(request.bytes));
    }
    for (const lane of flood.lanes) {
      lane.socket.on('message', () => {
        flood.answered++;
        lane.inFlight = Math.max(0, lane.inFlight - 1);
        lane.lastHeard = Date.now();
        flood.pump(lane);
      });
    }
    return flood;
  }

  get progress(): { sent: number; answered: number; lost: number } {
    return { sent: this.sent, answered: this.answered, lost: this.lost };
  }

  /** Sends everything; resolves when every request was answered or given up. */
  run(): Promise<FloodResult> {
    this.started = Date.now();
    const finished = new Promise<void>((resolve) => {
      this.done = resolve;
    });
    for (const lane of this.lanes) {
      lane.lastHeard = this.started;
      this.pump(lane);
    }
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const lane of this.lanes) {
        if (lane.inFlight > 0 && now - lane.lastHeard > this.opts.stallMs) {
          this.lost += lane.inFlight;
          lane.inFlight = 0;
          lane.lastHeard = now;
          this.pump(lane);
        }
      }
      this.checkDone();
    }, Math.max(10, Math.floor(this.opts.stallMs / 5)));
    return finished.then(() => ({ sent: this.sent, answered: this.answered, lost: this.lost, elapsedMs: Date.now() - this.started }));
  }

  close(): void {
    clearInterval(this.timer);
    for (const lane of this.lanes) lane.socket.close();
  }

  private pump(lane: Lane): void {
    while (lane.inFlight < this.opts.window && lane.next < lane.packets.length) {
      lane.socket.send(lane.packets[lane.next++]!, this.opts.port, '127.0.0.1');
      lane.inFlight++;
      this.sent++;
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (!this.done) return;
    if (this.lanes.every((l) => l.next === l.packets.length && l.inFlight === 0)) {
      clearInterval(this.timer);
      const done = this.done;
      this.done = undefined;
      done();
    }
  }
}
