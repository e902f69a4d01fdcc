/**
 * EAP-NOOB as a plugin of the EAP core (src/eap-methods/method.ts). This is the only NOOB module
 * with I/O: it reads the peer record before each step of the sans-IO state machine and commits the
 * transition the machine asks for — before the resulting request/success leaves, so a crash at any
 * point leaves either the old record or the new one, and never reports a success it did not record.
 */
import type { EapMethod, EapMethodSession, MethodContext, Step } from '../eap-methods/method.js';
import type { AuditStore } from '../store/audit.js';
import type { NoobPeerRecord, NoobPeerStore } from '../store/noob-peers.js';
import type { Log } from '../util/log.js';
import { codecOptions, resolveNoobConfig, type NoobConfig, type ResolvedNoobConfig } from './config.js';
import { systemRandom, type NoobRandom } from './crypto/random.js';
import { encodeRequest } from './message-codec.js';
import { EAP_TYPE_NOOB } from './messages.js';
import { RegistrationQuota } from './registration-quota.js';
import {
  decodeForServer,
  serverPeerIdToLoad,
  serverStep,
  startServerConversation,
  type LogEntry,
  type ServerConversation,
  type ServerEnv,
  type ServerStepResult,
} from './server-state-machine.js';

export interface NoobMethodDeps {
  store: NoobPeerStore;
  /** Raw configuration (validated here) or an already resolved one. */
  config: NoobConfig | ResolvedNoobConfig;
  clock?: () => Date;
  log: Log;
  /** Tests inject fixed nonces/keys to replay vectors; production uses the CSPRNG. */
  random?: NoobRandom;
  /** Where refused registrations are recorded (registration-quota.ts). */
  audit?: AuditStore;
}

export interface NoobMethod extends EapMethod {
  readonly type: 56;
  readonly name: 'eap-noob';
  readonly config: ResolvedNoobConfig;
}

function isResolved(c: NoobConfig | ResolvedNoobConfig): c is ResolvedNoobConfig {
  return typeof (c as ResolvedNoobConfig).serverInfoText === 'string';
}

/** EAP header (Code, Identifier, Length, Type) the core adds around our Type-Data. */
const EAP_HEADER = 5;

export function createNoobMethod(deps: NoobMethodDeps): NoobMethod {
  const config = isResolved(deps.config) ? deps.config : resolveNoobConfig(deps.config);
  const clock = deps.clock ?? (() => new Date());
  const random = deps.random ?? systemRandom;
  const { store } = deps;
  const env = (): ServerEnv => ({ config, now: clock(), random });

  function emit(log: Log, entries: LogEntry[]): void {
    for (const e of entries) log[e.level](e.fields, e.msg);
  }

  const quota = new RegistrationQuota(store, config, clock, deps.audit);

  function createSession(ctx: MethodContext): EapMethodSession {
    // The EAP core's logger already names the method and conversation; binding "method" again would
    // print the key twice in every JSON line.
    const log = ctx.log;
    let conv: ServerConversation | undefined;
    /** The record as read for the previous step of this conversation. */
    let lastRead: NoobPeerRecord | undefined;

    /**
     * The record for this step. Each step must see the stored record as it is now, but a record at
     * a given version never changes (every write bumps it): when the version is still that of the
     * previous step's read, that read is reused, and a one-column primary-key lookup replaces the
     * three queries and the decoding of a full read (about a quarter of the method's CPU time in a
     * Reconnect, which reads the record at each of its four steps).
     */
    async function load(peerId: string): Promise<NoobPeerRecord | undefined> {
      if (lastRead?.peerId === peerId && (await store.version(peerId)) === lastRead.version) return lastRead;
      lastRead = await store.get(peerId);
      return lastRead;
    }

    function toStep(r: ServerStepResult): Step {
      const a = r.action;
      switch (a.kind) {
        case 'request': {
          const data = encodeRequest(a.message, codecOptions(config));
          if (data.length + EAP_HEADER > ctx.maxEapPacket) {
            log.error({ size: data.length, maxEapPacket: ctx.maxEapPacket }, 'eap-noob: request exceeds the EAP packet limit (ServerInfo too large?)');
            return { kind: 'failure', reason: 'eap-noob request too large for this link' };
          }
          return { kind: 'request', data };
        }
        case 'success':
          return {
            kind: 'success',
            msk: a.msk,
            emsk: a.emsk,
            sessionId: a.sessionId,
            // The registration as committed: the authorizer takes its owner and PeerInfo from here.
            grant: {
              identity: a.peerId,
              method: 'eap-noob',
              deviceId: a.peerId,
              ...(a.account !== undefined ? { account: a.account } : {}),
              ...(a.peerInfo !== undefined ? { peerInfo: a.peerInfo } : {}),
            },
          };
        case 'failure':
          return { kind: 'failure', reason: a.reason };
      }
    }

    return {
      async start(): Promise<Step> {
        const r = startServerConversation(ctx.identity, env());
        conv = r.conv;
        emit(log, r.log);
        return toStep(r);
      },

      async step(data: Uint8Array): Promise<Step> {
        try {
          return await stepOnce(data);
        } catch (e) {
          // The state machine only throws on bugs or store failures; the peer still gets a clean EAP-Failure.
          log.error({ err: e }, 'eap-noob: internal error');
          conv = undefined;
          return { kind: 'failure', reason: 'eap-noob internal error' };
        }
      },

      dispose(): void {
        conv = undefined;
        lastRead = undefined;
      },
    };

    async function stepOnce(data: Uint8Array): Promise<Step> {
      if (!conv) return { kind: 'failure', reason: 'eap-noob step without start' };
      const input = decodeForServer(data, config);
      const peerId = serverPeerIdToLoad(conv, input);
      const record = peerId !== undefined ? await load(peerId) : undefined;
      const r = serverStep(conv, input, record, env());
      conv = r.conv;
      emit(log, r.log);
      if (r.write) {
        const w = r.write;
        let committed = false;
        try {
          committed =
            w.expectedVersion === null && w.next !== null
              ? await quota.register(ctx.nas, w.next, log)
              : await store.transition(w.peerId, w.expectedVersion, w.next);
        } catch (e) {
          log.error({ err: e, peerId: w.peerId }, 'eap-noob: store write failed');
        }
        if (!committed) {
          log.warn({ peerId: w.peerId, required: w.required }, 'eap-noob: state transition not stored');
          if (w.required) return { kind: 'failure', reason: 'eap-noob state could not be stored' };
        }
      }
      return toStep(r);
    }
  }

  return { type: EAP_TYPE_NOOB, name: 'eap-noob', config, createSession };
}
