import type { EapMethod, EapMethodSession, MethodContext, Step } from '../../src/eap-methods/method.js';
import { EapCode, decodeEap, encodeEap } from '../../src/eap-methods/eap-packet.js';
import type { NewUser, UserRecord, UserStore } from '../../src/store/users.js';
import { hashPassword } from '../../src/store/users.js';
import { ntPasswordHash } from '../../src/eap-methods/mschapv2/ms-chap-v2.js';
import type { TeapPeer, TeapPeerAction } from '../../src/peer/teap/teap-peer.js';
import { MemoryLog } from '../helpers/silent-log.js';

/** A UserStore in memory, for tests. */
export class MemoryUserStore implements UserStore {
  readonly users = new Map<string, UserRecord>();

  async get(name: string): Promise<UserRecord | undefined> {
    return this.users.get(name);
  }
  async add(u: NewUser): Promise<UserRecord> {
    if (this.users.has(u.name)) throw new Error('exists');
    const r: UserRecord = { name: u.name, enabled: u.enabled ?? true, created: new Date(), ...(u.ntHash ? { ntHash: u.ntHash } : {}), ...(u.passwordHash ? { passwordHash: u.passwordHash } : {}) };
    this.users.set(u.name, r);
    return r;
  }
  async remove(name: string): Promise<boolean> {
    return this.users.delete(name);
  }
  async list(): Promise<UserRecord[]> {
    return [...this.users.values()];
  }
  async setEnabled(name: string, enabled: boolean): Promise<boolean> {
    const u = this.users.get(name);
    if (!u) return false;
    u.enabled = enabled;
    return true;
  }
}

/** Test scrypt parameters: the production cost would only slow the suite down. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

export async function userWithPassword(store: Pick<UserStore, 'add'>, name: string, password: string, forms: { nt?: boolean; scrypt?: boolean } = { nt: true, scrypt: true }): Promise<void> {
  await store.add({
    name,
    ...(forms.nt ? { ntHash: ntPasswordHash(password) } : {}),
    ...(forms.scrypt ? { passwordHash: await hashPassword(password, FAST_SCRYPT) } : {}),
  });
}

export function methodContext(log = new MemoryLog(), maxEapPacket = 1400, identity = 'anonymous@example.com'): MethodContext {
  return { identity, conversationId: 'test', maxEapPacket, nas: { clientName: 'test' }, log };
}

export interface Conversation {
  server: Step;
  peer: TeapPeerAction;
  rounds: number;
  requests: Uint8Array[];
  responses: Uint8Array[];
}

/**
 * Plays the EAP authenticator between a server method session and our TeapPeer, as the EAP core
 * would: wraps Type-Data into EAP Requests, ends with EAP-Success/Failure.
 */
export async function converse(method: EapMethod, peer: TeapPeer, ctx: MethodContext = methodContext(), maxRounds = 80): Promise<Conversation> {
  const session: EapMethodSession = method.createSession(ctx);
  const requests: Uint8Array[] = [];
  const responses: Uint8Array[] = [];
  let id = 10;
  peer.identityResponse(id);
  let step = await session.start();
  let rounds = 0;
  try {
    while (step.kind === 'request' || step.kind === 'discard') {
      if (step.kind === 'discard') throw new Error(`server discarded a response: ${step.reason}`);
      if (++rounds > maxRounds) throw new Error('conversation does not end');
      id = (id + 1) & 0xff;
      const req = encodeEap({ code: EapCode.Request, identifier: id, type: method.type, data: step.data });
      requests.push(req);
      const action = await peer.receive(req);
      if (action.kind !== 'send') {
        return { server: { kind: 'failure', reason: `peer stopped: ${action.kind === 'failure' ? action.reason : 'success?'}` }, peer: action, rounds, requests, responses };
      }
      responses.push(action.eap);
      const resp = decodeEap(action.eap);
      if (resp.code !== EapCode.Response || resp.identifier !== id) throw new Error('peer answered with a bad header');
      step = await session.step(resp.data);
    }
    const final = encodeEap({ code: step.kind === 'success' ? EapCode.Success : EapCode.Failure, identifier: id });
    const peerAction = await peer.receive(final);
    return { server: step, peer: peerAction, rounds, requests, responses };
  } finally {
    session.dispose();
    peer.dispose();
  }
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
