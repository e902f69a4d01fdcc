import { runEapOverRadius, type EapRadiusOptions, type EapRadiusResult } from '../radius-runner.js';
import type { TeapPeer, TeapPeerAction } from './teap-peer.js';

export type TeapRadiusOptions = EapRadiusOptions;

/** On success `peer` holds the TEAP MSK/EMSK and Session-Id. */
export type TeapRadiusResult = EapRadiusResult<Extract<TeapPeerAction, { kind: 'success' }>>;

/**
 * Drives a TeapPeer over RADIUS as a NAS would; the loop itself is the method-independent
 * `runEapOverRadius` (src/peer/radius-runner.ts), shared with our other peers.
 */
export async function runTeapOverRadius(peer: TeapPeer, opts: TeapRadiusOptions): Promise<TeapRadiusResult> {
  return runEapOverRadius(peer, opts);
}
