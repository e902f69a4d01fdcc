import { udpEngine, type UdpEngine } from '../../src/radius/udp-listener.js';
import { inCi, noteSkip } from './require-tool.js';

/**
 * True when the addon's UDP listener loaded; throws under CI when it did not (the addon is built by
 * npm install there), else prints a banner: a skipped half of a suite is never silent.
 */
export function nativeUdpLoaded(): boolean {
  if (udpEngine === 'native') return true;
  const why = process.env.GANGWAY_NATIVE_UDP === '0' ? 'GANGWAY_NATIVE_UDP=0 is set' : 'the addon did not load; build it with npm install';
  if (inCi()) throw new Error(`the native UDP listener is not in use (${why}); CI=true, so its tests fail instead of skipping`);
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING the native UDP listener's half: ${why}.\n${bar}\n`);
  noteSkip('native UDP listener', why);
  return false;
}

/** Both listeners, or node:dgram alone (loudly) when the native one is not there. */
export function udpEngines(): UdpEngine[] {
  return nativeUdpLoaded() ? ['native', 'node'] : ['node'];
}
