/**
 * Per-RADIUS-round-trip latency at the load generator: from handing an Access-Request to the client
 * to holding its verified reply, for every exchange of every conversation (a conversation's total
 * is the sum of its round trips and the peer's own work between them). Retransmissions fall inside
 * the round trip they belong to. What it includes beyond the server's time: loopback, the kernel's
 * socket queues on both sides, and the generator's own event-loop delay, which is not small when
 * it runs the peers' TLS on the same cores as the server.
 */
import { RadiusClient, type RadiusClientOptions, type RadiusRequest, type RadiusResponse } from '../radius/client.js';
import { summarizeLatencies, type LatencySummary } from './latency.js';

export interface RoundTripSummary extends LatencySummary {
  /** Round trips answered. */
  count: number;
  /** Requests that got no valid reply (timeout, closed client). */
  unanswered: number;
}

/** Collects round-trip times; the measured run takes what came in since its start. */
export class RoundTripRecorder {
  private samplesMs: number[] = [];
  private unanswered = 0;

  answered(ms: number): void {
    this.samplesMs.push(ms);
  }

  failed(): void {
    this.unanswered++;
  }

  /** What was recorded since the last call, and a fresh start. */
  take(): { samplesMs: number[]; unanswered: number } {
    const out = { samplesMs: this.samplesMs, unanswered: this.unanswered };
    this.samplesMs = [];
    this.unanswered = 0;
    return out;
  }
}

export function summarizeRoundTrips(samplesMs: readonly number[], unanswered: number): RoundTripSummary {
  return { ...summarizeLatencies(samplesMs), count: samplesMs.length, unanswered };
}

/** The load generator's RADIUS client, timing each `send` into a recorder. */
export class TimedRadiusClient extends RadiusClient {
  constructor(options: RadiusClientOptions, private readonly recorder: RoundTripRecorder) {
    super(options);
  }

  override async send(request: RadiusRequest): Promise<RadiusResponse> {
    const t0 = performance.now();
    let response: RadiusResponse;
    try {
      response = await super.send(request);
    } catch (err) {
      this.recorder.failed();
      throw err;
    }
    this.recorder.answered(performance.now() - t0);
    return response;
  }
}
