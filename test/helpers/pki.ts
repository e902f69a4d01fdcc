import { generateDemoPki, type DemoPki } from '../../src/pki/demo-pki.js';

let cached: Promise<DemoPki> | undefined;
let rogue: Promise<DemoPki> | undefined;

/** One demo PKI per test file (generation costs a few milliseconds of ECDSA, not worth repeating). */
export function testPki(): Promise<DemoPki> {
  cached ??= generateDemoPki('radius.test.example', 'alice');
  return cached;
}

/** A second, unrelated PKI: its client certificate must be refused by a server trusting the first. */
export function roguePki(): Promise<DemoPki> {
  rogue ??= generateDemoPki('rogue.test.example', 'mallory');
  return rogue;
}
