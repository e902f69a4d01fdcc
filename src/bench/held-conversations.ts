/**
 * `--hold N`: what an in-flight TEAP conversation costs Gangway in memory. N conversations are
 * started (TLS 1.2 tunnel established, the server's first Phase-2 message received) and then left
 * there: the peer never answers, as a device that walked away would, and the server holds each
 * until its idle timeout. The server's RSS with all of them held, minus its RSS before, divided by
 * N, is the figure the "≤ 64 KiB per in-flight TEAP conversation" is about.
 *
 * Gangway's defaults would not let one NAS hold that many (half the session table, and 60 s idle
 * expiry, shorter than the setup of 10,000 takes), so this runs on a server of its own whose
 * gangway.yaml raises them: see `holdSettings`.
 */
import * as tls from 'node:tls';
import { join } from 'node:path';
import { nasAccessRequestAttributes } from '../peer/nas-request.js';
import { runEapOverRadius } from '../peer/radius-runner.js';
import { TeapPeer } from '../peer/teap/teap-peer.js';
import { AttributeType, RadiusCode, getAttribute, joinEapMessage, type RadiusClient } from '../radius/index.js';
import { silentLog } from '../util/log.js';
import { fixtureCredentials, forkBenchFixture, type BenchFixture } from './fixture.js';
import { startGangwayTarget } from './gangway-target.js';
import { runLoad, type AuthOutcome } from './load.js';
import { FRAMED_MTU, loadClient, stationId } from './method.js';
import { processMemory } from './proc-stats.js';
import type { HeldConversationsResult } from './report.js';
import type { BenchProgress } from './runner.js';
import type { ServerTarget } from './target.js';

export interface HoldOptions {
  fixture: BenchFixture;
  /** Where the server's own copy of the data directory goes. */
  dir: string;
  gangwayMain: string;
  conversations: number;
  /** Conversations being set up at once. */
  concurrency: number;
  /** Seconds to wait with all held before the last RSS reading (the reply cache empties in 5). */
  waitSeconds?: number;
  nodeArgs?: string[];
}

/** The gangway.yaml `eap` keys that make room: the whole table for one NAS, and no expiry during the run. */
export function holdSettings(conversations: number): Record<string, number> {
  return { maxSessions: Math.max(16384, conversations + 1024), clientShare: 1, idleTimeoutSeconds: 3600 };
}

const WARMUP = 20;

/** Runs one TEAP conversation until the server's first Phase-2 message, and leaves it there. */
async function park(target: ServerTarget, client: RadiusClient, peer: TeapPeer, userName: string, station: string): Promise<AuthOutcome> {
  let eap = peer.identityResponse(0);
  let state: Uint8Array | undefined;
  for (let rounds = 1; rounds <= 20; rounds++) {
    const { packet } = await client.send({ attributes: nasAccessRequestAttributes({ userName, callingStationId: station, framedMtu: FRAMED_MTU }, eap, state) });
    const eapIn = joinEapMessage(packet);
    if (packet.code !== RadiusCode.AccessChallenge || !eapIn) return { ok: false, rounds, reason: `RADIUS code ${packet.code} before Phase 2` };
    state = getAttribute(packet, AttributeType.State);
    const action = await peer.receive(eapIn);
    if (peer.phase2Requests > 0) return { ok: true, rounds };
    if (action.kind !== 'send') return { ok: false, rounds, reason: action.kind === 'failure' ? action.reason : 'finished before Phase 2' };
    eap = action.eap;
  }
  return { ok: false, rounds: 20, reason: `no Phase 2 after 20 round trips on ${target.host}:${target.port}` };
}

export async function measureHeldConversations(o: HoldOptions, progress: BenchProgress): Promise<HeldConversationsResult> {
  const settings = holdSettings(o.conversations);
  const fixture = forkBenchFixture(o.fixture, join(o.dir), { eap: settings });
  const target = await startGangwayTarget(o.gangwayMain, fixture, undefined, o.nodeArgs);
  const pid = target.pid!;
  progress(`held conversations: ${target.version} pid ${pid} on 127.0.0.1:${target.port}, eap: ${JSON.stringify(settings)}`);
  const c = fixtureCredentials(fixture);
  const user = c.user!;
  const client = loadClient(target);
  const log = silentLog();
  const secureContext = tls.createSecureContext({ ca: c.caPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  const newPeer = (): TeapPeer => new TeapPeer({ outerIdentity: c.teapOuterIdentity, user: { identity: user.name, password: user.password }, tls: { secureContext, servername: fixture.serverName }, log });
  try {
    // Complete authentications first: code paths compiled and caches filled are not per-conversation cost.
    const warm = await runLoad({
      count: WARMUP, concurrency: Math.min(o.concurrency, WARMUP), maxSeconds: 60, authTimeoutMs: 30_000,
      run: async (_i, w) => {
        const r = await runEapOverRadius(newPeer(), { host: target.host, port: target.port, secret: target.secret, userName: c.teapOuterIdentity, client, framedMtu: FRAMED_MTU, callingStationId: stationId(w) });
        return { ok: r.outcome === 'accept' && r.mppeMatches, rounds: r.rounds, ...(r.reason ? { reason: r.reason } : {}) };
      },
    });
    if (warm.successes === 0) throw new Error(`held conversations: every warm-up TEAP authentication failed: ${JSON.stringify(warm.failureReasons)}\n${target.tail()}`);
    const before = processMemory(pid);
    progress(`held conversations: RSS ${(before.rssKb / 1024).toFixed(1)} MB before; parking ${o.conversations}, ${o.concurrency} at a time`);
    const r = await runLoad({
      count: o.conversations, concurrency: o.concurrency, maxSeconds: 3000, authTimeoutMs: 30_000,
      // Stations after the warm-up's: a new conversation from a station replaces its unfinished one.
      run: async (i) => {
        const peer = newPeer();
        try {
          return await park(target, client, peer, c.teapOuterIdentity, stationId(o.concurrency + i));
        } finally {
          peer.dispose();
        }
      },
      onComplete: (n) => {
        if (n % 1000 === 0) progress(`  ${n} parked, RSS ${(processMemory(pid).rssKb / 1024).toFixed(1)} MB`);
      },
    });
    const held = processMemory(pid);
    const waitSeconds = o.waitSeconds ?? 10;
    await new Promise((res) => setTimeout(res, waitSeconds * 1000));
    const after = processMemory(pid);
    return {
      server: target.version,
      requested: o.conversations,
      held: r.successes,
      failures: r.failures,
      failureReasons: r.failureReasons,
      setupSeconds: r.wallSeconds,
      settings,
      rssKb: { before: before.rssKb, held: held.rssKb, afterWait: after.rssKb, peak: after.peakRssKb },
      waitSeconds,
      kibPerConversation: r.successes > 0 ? (held.rssKb - before.rssKb) / r.successes : NaN,
    };
  } finally {
    await client.close();
    await target.stop();
  }
}
