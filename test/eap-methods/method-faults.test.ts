/**
 * Crash safety of the EAP core (issue 8.4): whatever a method or plugin throws or rejects, from
 * createSession, start, step or dispose, ends that conversation with EAP-Failure and an error log
 * line, and the table is cleaned up; other conversations carry on.
 */
import { DEFAULT_EAP_LIMITS, EapAuthenticator, type EapOutcome } from '../../src/eap-methods/authenticator.js';
import { decodeEap, encodeEap, EapType } from '../../src/eap-methods/eap-packet.js';
import type { EapMethod, EapMethodSession, Step } from '../../src/eap-methods/method.js';
import { MethodSelector } from '../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../src/eap-methods/registry.js';
import { MemoryLog } from '../helpers/silent-log.js';

type Fault =
  | 'none' | 'create-throw' | 'start-throw' | 'start-reject' | 'step-throw' | 'step-reject'
  | 'step-undefined' | 'step-no-msk' | 'step-bad-kind' | 'step-null-grant' | 'dispose-throw';

/** The same faults as test/fixtures/faulty-plugin.mjs (used by the served-process test), typed. */
function faultyMethod(type: number, name: string, fault: Fault, disposals: { n: number }): EapMethod {
  return {
    type,
    name,
    createSession(ctx): EapMethodSession {
      if (fault === 'create-throw') throw new Error('createSession fault');
      return {
        start(): Promise<Step> {
          if (fault === 'start-throw') throw new Error('start fault');
          if (fault === 'start-reject') return Promise.reject(new Error('start rejection'));
          return Promise.resolve({ kind: 'request', data: Uint8Array.of(1) });
        },
        step(data): Promise<Step> {
          const odd = (v: unknown): Promise<Step> => Promise.resolve(v as Step);
          switch (fault) {
            case 'step-throw': throw new Error('step fault');
            case 'step-reject': return Promise.reject(new Error('step rejection'));
            case 'step-undefined': return odd(undefined);
            case 'step-no-msk': return odd({ kind: 'success', grant: { identity: ctx.identity, method: name } });
            case 'step-bad-kind': return odd({ kind: 'maybe' });
            case 'step-null-grant': return odd({ kind: 'success', msk: new Uint8Array(64), grant: null });
            case 'dispose-throw':
              if (data[0] === 0xee) return Promise.resolve({ kind: 'failure', reason: 'told to fail' });
              return Promise.resolve({ kind: 'request', data: Uint8Array.of(2) });
            default:
              return Promise.resolve({ kind: 'success', msk: new Uint8Array(64).fill(9), grant: { identity: ctx.identity, method: name } });
          }
        },
        dispose(): void {
          disposals.n++;
          if (fault === 'dispose-throw') throw new Error('dispose fault');
        },
      };
    },
  };
}

const identity = (id: number, name: string): Uint8Array => encodeEap({ code: 2, identifier: id, type: EapType.Identity, data: Buffer.from(name) });
const response = (id: number, type: number, data: number[]): Uint8Array => encodeEap({ code: 2, identifier: id, type, data: Uint8Array.from(data) });

function setup(fault: Fault, limits: Partial<typeof DEFAULT_EAP_LIMITS> = {}, now?: () => number) {
  const log = new MemoryLog();
  const disposals = { n: 0 };
  const registry = new MethodRegistry();
  registry.register(faultyMethod(251, 'faulty', fault, disposals));
  registry.register(faultyMethod(252, 'good', 'none', { n: 0 }));
  const selector = new MethodSelector([{ realm: 'good.example', methods: ['good'] }], ['faulty']);
  const eap = new EapAuthenticator(registry, selector, { ...DEFAULT_EAP_LIMITS, ...limits }, log, now);
  return { eap, log, disposals };
}

/** Identity → the method's first answer (and, when it asked, one Response of its type). */
async function run(eap: EapAuthenticator, user: string, station: string, answer = [0]): Promise<EapOutcome> {
  const nas = { clientName: 'nas', callingStationId: station };
  const first = await eap.handle({ eap: identity(1, user), nas });
  if (first.kind !== 'challenge') return first;
  const req = decodeEap(first.eap);
  return eap.handle({ eap: response(req.identifier, req.code === 1 ? req.type : 0, answer), state: first.state, nas });
}

function expectFailure(o: EapOutcome): void {
  expect(o.kind).toBe('reject');
  const p = decodeEap((o as { eap: Uint8Array }).eap);
  expect(p.code).toBe(4);
}

const errors = (log: MemoryLog) => log.lines.filter((l) => l.level === 'error');

describe('EAP core: a faulty method fails its conversation, never the process', () => {
  const contained: [Fault, RegExp][] = [
    ['create-throw', /failed to create a session/],
    ['start-throw', /failed to start/],
    ['start-reject', /failed to start/],
    ['step-throw', /EAP method threw/],
    ['step-reject', /EAP method threw/],
    ['step-undefined', /malformed step/],
    ['step-no-msk', /malformed step/],
    ['step-bad-kind', /malformed step/],
    ['step-null-grant', /malformed step/],
  ];
  test.each(contained)('%s: EAP-Failure, an error log line, nothing left in the table', async (fault, logged) => {
    const { eap, log } = setup(fault);
    const outcome = await run(eap, 'dev@faulty.example', '02-00-00-00-00-01');
    expectFailure(outcome);
    expect(errors(log).map((l) => l.msg).join('\n')).toMatch(logged);
    expect(errors(log)[0]!.obj).toMatchObject({ method: 'faulty' });
    expect(eap.activeConversations).toBe(0);
    // The next peer, on a sound method, is served.
    expect(await run(eap, 'alice@good.example', '02-00-00-00-00-02')).toMatchObject({ kind: 'accept', identity: 'alice@good.example' });
    eap.close();
  });

  test('dispose() that throws after a failure: logged, the conversation is gone', async () => {
    const { eap, log, disposals } = setup('dispose-throw');
    expectFailure(await run(eap, 'dev@x', '02-00-00-00-00-03', [0xee]));
    expect(disposals.n).toBe(1);
    expect(eap.activeConversations).toBe(0);
    expect(errors(log).map((l) => l.msg)).toContain('EAP method failed to dispose of its session');
    eap.close();
  });

  test('dispose() that throws when a station restarts: the old conversation is dropped, the new one runs', async () => {
    const { eap, log, disposals } = setup('dispose-throw');
    expect((await run(eap, 'dev@x', '02-00-00-00-00-04')).kind).toBe('challenge');
    expect((await run(eap, 'dev@x', '02-00-00-00-00-04')).kind).toBe('challenge');
    expect(disposals.n).toBe(1);
    expect(eap.activeConversations).toBe(1);
    expect(errors(log)).toHaveLength(1);
    eap.close();
  });

  test('dispose() that throws on the idle sweep: logged, the sweeper keeps running', async () => {
    let clock = 1_000_000;
    const { eap, log, disposals } = setup('dispose-throw', { idleTimeoutMs: 5000 }, () => clock);
    expect((await run(eap, 'dev@x', '02-00-00-00-00-05')).kind).toBe('challenge');
    expect((await run(eap, 'dev@x', '02-00-00-00-00-06')).kind).toBe('challenge');
    clock += 6000;
    // The sweeper runs every idleTimeout/4 (at least 1 s).
    await new Promise((r) => setTimeout(r, 1400));
    expect(disposals.n).toBe(2);
    expect(eap.activeConversations).toBe(0);
    expect(errors(log).filter((l) => l.msg === 'EAP method failed to dispose of its session')).toHaveLength(2);
    // And again: the interval survived the throws.
    expect((await run(eap, 'dev@x', '02-00-00-00-00-07')).kind).toBe('challenge');
    clock += 6000;
    await new Promise((r) => setTimeout(r, 1400));
    expect(disposals.n).toBe(3);
    eap.close();
  });
});
