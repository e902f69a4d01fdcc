import type { FuzzTarget } from '../engine/target.js';
import { eapPacket } from './eap-packet.js';
import { fragmentReassembly } from './fragment-reassembly.js';
import { noobMessage } from './noob-message.js';
import { noobServer } from './noob-server.js';
import { pkcs10 } from './pkcs10.js';
import { radiusPacket } from './radius-packet.js';
import { teapPhase2 } from './teap-phase2.js';
import { teapTlv } from './teap-tlv.js';
import { voucherCms, voucherCose } from './voucher-artifacts.js';

/** Every fuzz target, in the order `npm run fuzz` runs them. */
export const TARGETS: readonly FuzzTarget[] = [radiusPacket, eapPacket, fragmentReassembly, teapTlv, teapPhase2, noobMessage, noobServer, voucherCms, voucherCose, pkcs10];

export function targetByName(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
