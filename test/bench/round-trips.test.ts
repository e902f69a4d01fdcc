import { createSocket, type Socket } from 'node:dgram';
import { RoundTripRecorder, TimedRadiusClient, summarizeRoundTrips } from '../../src/bench/round-trips.js';
import { RadiusCode, decodePacket, encodeResponse } from '../../src/radius/index.js';

const SECRET = 'round-trip-test-secret';

describe('per-round-trip summary', () => {
  test('nearest-rank percentiles over every round trip, with the count and the unanswered ones', () => {
    const samples = Array.from({ length: 200 }, (_, i) => i + 1); // 1 … 200 ms
    expect(summarizeRoundTrips(samples, 3)).toEqual({ p50: 100, p95: 190, p99: 198, max: 200, mean: 100.5, count: 200, unanswered: 3 });
    expect(summarizeRoundTrips([], 2)).toEqual({ p50: 0, p95: 0, p99: 0, max: 0, mean: 0, count: 0, unanswered: 2 });
  });

  test('the recorder hands over what came since the last take, and starts afresh', () => {
    const r = new RoundTripRecorder();
    r.answered(1.5);
    r.failed();
    expect(r.take()).toEqual({ samplesMs: [1.5], unanswered: 1 });
    r.answered(2);
    r.answered(3);
    expect(r.take()).toEqual({ samplesMs: [2, 3], unanswered: 0 });
    expect(r.take()).toEqual({ samplesMs: [], unanswered: 0 });
  });
});

describe('TimedRadiusClient', () => {
  let server: Socket;
  let port: number;
  let answer = true;

  beforeAll(async () => {
    server = createSocket('udp4');
    // A responder that answers every Access-Request with a signed Access-Reject, while `answer`.
    server.on('message', (msg, rinfo) => {
      if (!answer) return;
      const request = decodePacket(msg);
      const reply = encodeResponse({ code: RadiusCode.AccessReject, identifier: request.identifier, requestAuthenticator: request.authenticator, attributes: [], secret: SECRET });
      server.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    port = server.address().port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('each answered send is one round trip; an unanswered one is counted apart', async () => {
    const recorder = new RoundTripRecorder();
    const client = new TimedRadiusClient({ host: '127.0.0.1', port, secret: SECRET, initialTimeoutMs: 50, maxRetransmissions: 0, maxDurationMs: 50 }, recorder);
    try {
      answer = true;
      for (let i = 0; i < 3; i++) expect((await client.send({ attributes: [] })).packet.code).toBe(RadiusCode.AccessReject);
      answer = false;
      await expect(client.send({ attributes: [] })).rejects.toThrow(/no valid reply/);
    } finally {
      await client.close();
    }
    const { samplesMs, unanswered } = recorder.take();
    expect(samplesMs).toHaveLength(3);
    expect(samplesMs.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    expect(unanswered).toBe(1);
  });
});
