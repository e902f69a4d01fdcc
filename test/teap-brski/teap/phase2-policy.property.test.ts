import fc from 'fast-check';
import { IdentityType, RequestActionAction, ResultStatus, tlv, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import type { TeapIdentityType, TeapInnerStep, TeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import type { Phase2Output } from '../../../src/teap-brski/teap/phase2-server.js';
import { EapType } from '../../../src/eap-methods/eap-packet.js';
import { ALICE, MACHINE, phase2Pair, reencode } from './phase2-harness.js';

/**
 * Success implies every non-optional step was satisfied by one of its allowed methods, whatever the
 * policy and whatever the peer does. The oracle below looks only at the wire (which inner method
 * each round ran, which Identity-Type was in force, which rounds the server confirmed with
 * Intermediate-Result=Success), never at the sequencer's own bookkeeping.
 */

type Misbehaviour =
  | 'honest'
  | 'switch-type' // answer the other Identity-Type than requested
  | 'request-action-success' // a Request-Action(Success) instead of the answer
  | 'request-action-failure'
  | 'add-request-action-success' // a Request-Action(Success) beside the honest answer
  | 'result-success' // claim Result=Success
  | 'empty' // say nothing
  | 'replay' // the previous answer again
  | 'drop-identity-type';

const MISBEHAVIOURS: readonly Misbehaviour[] = ['honest', 'switch-type', 'request-action-success', 'request-action-failure', 'add-request-action-success', 'result-success', 'empty', 'replay', 'drop-identity-type'];

const stepArb = fc.record({
  identityType: fc.constantFrom<TeapIdentityType | undefined>(undefined, 'user', 'machine'),
  methods: fc.uniqueArray(fc.constantFrom('eap-mschapv2', 'basic-password', 'client-certificate'), { minLength: 1, maxLength: 3 }),
  optional: fc.boolean(),
});

const scenarioArb = fc
  .record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }),
    certificateOnly: fc.boolean(),
    clientCertificate: fc.constantFrom<'none' | 'optional'>('none', 'optional'),
    identityTypeSwitch: fc.constantFrom<'pending-step' | 'refuse'>('pending-step', 'refuse'),
    hasCertificate: fc.boolean(),
    userCreds: fc.constantFrom('alice', 'wrong', 'none'),
    machineCreds: fc.constantFrom('machine', 'alice', 'wrong', 'none'),
    // Mostly honest rounds, so that successes happen and the checks bite.
    rounds: fc.array(fc.oneof({ weight: 6, arbitrary: fc.constant<Misbehaviour>('honest') }, { weight: 4, arbitrary: fc.constantFrom(...MISBEHAVIOURS) }), { minLength: 30, maxLength: 30 }),
  })
  .filter((s) => {
    // Only policies the configuration would accept.
    const typed = s.steps.map((x) => x.identityType).filter((t) => t !== undefined);
    if (new Set(typed).size !== typed.length) return false;
    if (s.clientCertificate === 'none' && (s.certificateOnly || s.steps.some((x) => x.methods.includes('client-certificate')))) return false;
    return true;
  });

interface Run {
  method: 'eap-mschapv2' | 'basic-password';
  requested: TeapIdentityType | undefined;
  answered: TeapIdentityType | undefined;
  identity?: string;
}

const TYPE_NAME: Record<number, TeapIdentityType> = { [IdentityType.User]: 'user', [IdentityType.Machine]: 'machine' };

/** Is there a distinct confirmed run (or the certificate) for every non-optional step? */
function satisfiable(steps: TeapInnerStep[], runs: Run[], certificate: boolean, certificateOnly: boolean): boolean {
  if (certificate && certificateOnly) return true;
  const required = steps.filter((s) => !s.optional);
  const fits = (s: TeapInnerStep, r: Run): boolean => s.methods.includes(r.method) && (s.identityType === undefined || (r.answered ?? r.requested) === s.identityType);
  const assign = (i: number, used: Set<number>): boolean => {
    if (i === required.length) return true;
    const s = required[i]!;
    if (certificate && s.methods.includes('client-certificate') && assign(i + 1, used)) return true;
    for (const [k, r] of runs.entries()) {
      if (used.has(k) || !fits(s, r)) continue;
      used.add(k);
      if (assign(i + 1, used)) return true;
      used.delete(k);
    }
    return false;
  };
  return assign(0, new Set());
}

const ra = (status: number): TeapTlv => ({ kind: 'request-action', mandatory: false, status, action: RequestActionAction.NegotiateEap, tlvs: [] });

let successes = 0;
let failures = 0;

test('Success implies every non-optional step was satisfied by one of its allowed methods (2,000 random policies and peers)', async () => {
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (sc) => {
      const policy: Partial<TeapPolicy> = {
        sequence: sc.steps.map((s) => ({ ...(s.identityType ? { identityType: s.identityType } : {}), methods: s.methods, optional: s.optional })),
        certificateOnly: sc.certificateOnly,
        clientCertificate: sc.clientCertificate,
        identityTypeSwitch: sc.identityTypeSwitch,
      };
      const certificate = sc.hasCertificate && sc.clientCertificate !== 'none';
      const creds = {
        ...(sc.userCreds === 'alice' ? { user: ALICE } : sc.userCreds === 'wrong' ? { user: { identity: 'alice', password: 'nope' } } : {}),
        ...(sc.machineCreds === 'machine' ? { machine: MACHINE } : sc.machineCreds === 'alice' ? { machine: ALICE } : sc.machineCreds === 'wrong' ? { machine: { identity: 'host/m1', password: 'x' } } : {}),
      };
      const p = await phase2Pair(policy, creds, { ...(certificate ? { certificate: { identity: 'device-7', deviceId: 'serial:07' } } : {}), certificateOnly: sc.certificateOnly });

      const confirmed: Run[] = [];
      let run: Run | undefined;
      let previous: TeapTlv[] = [];
      let out: Phase2Output = await p.server.begin();
      for (let i = 0; i < sc.rounds.length && out.kind === 'send'; i++) {
        const fromServer = out.tlvs;
        // What the server confirmed and started in this message, as seen on the wire.
        if (run && fromServer.some((t) => t.kind === 'intermediate-result' && t.status === ResultStatus.Success)) {
          confirmed.push(run);
          run = undefined;
        }
        const requested = fromServer.find((t) => t.kind === 'identity-type');
        const reqType = requested && requested.kind === 'identity-type' ? TYPE_NAME[requested.identityType] : undefined;
        const eap = fromServer.find((t) => t.kind === 'eap-payload');
        const startsEap = eap && eap.kind === 'eap-payload' && eap.eap[4] === EapType.Identity;
        if (startsEap) run = { method: 'eap-mschapv2', requested: reqType, answered: undefined };
        if (fromServer.some((t) => t.kind === 'basic-password-auth-req')) run = { method: 'basic-password', requested: reqType, answered: undefined };

        const how = sc.rounds[i]!;
        let incoming = fromServer;
        if (how === 'switch-type' && requested && requested.kind === 'identity-type') {
          incoming = fromServer.map((t) => (t.kind === 'identity-type' ? tlv.identityType(t.identityType === IdentityType.User ? IdentityType.Machine : IdentityType.User) : t));
        }
        // After our own misbehaviour the honest peer may lose its footing; it then says nothing.
        const honest = await p.peer.process(reencode(incoming)).then((r) => r.tlvs, () => [] as TeapTlv[]);
        let answer: TeapTlv[];
        switch (how) {
          case 'request-action-success': answer = [ra(ResultStatus.Success)]; break;
          case 'request-action-failure': answer = [ra(ResultStatus.Failure)]; break;
          case 'add-request-action-success': answer = [...honest.filter((t) => t.kind !== 'result'), ra(ResultStatus.Success)]; break;
          case 'result-success': answer = [...honest.filter((t) => t.kind !== 'result'), tlv.result(ResultStatus.Success)]; break;
          case 'empty': answer = []; break;
          case 'replay': answer = previous; break;
          case 'drop-identity-type': answer = honest.filter((t) => t.kind !== 'identity-type'); break;
          default: answer = honest;
        }
        const it = answer.find((t) => t.kind === 'identity-type');
        if (run && it && it.kind === 'identity-type' && run.answered === undefined) run.answered = TYPE_NAME[it.identityType];
        previous = answer;
        out = await p.server.handle(reencode(answer));
      }
      p.server.dispose();
      p.peer.dispose();
      if (out.kind !== 'success') {
        failures++;
        return;
      }
      successes++;
      expect(satisfiable(policy.sequence!, confirmed, certificate, sc.certificateOnly)).toBe(true);
      expect(['alice', 'host/m1', 'device-7']).toContain(out.grant.identity);
    }),
    { numRuns: 2000 },
  );
  // The property must have been exercised on both sides.
  expect(successes).toBeGreaterThan(100);
  expect(failures).toBeGreaterThan(100);
}, 300_000);
