import { tlv, IdentityType, ResultStatus, RequestActionAction, type TeapTlv } from '../../../src/teap-brski/teap/tlv-codec.js';
import { TeapErrorCode } from '../../../src/teap-brski/teap/errors.js';
import { PolicySequencer } from '../../../src/teap-brski/teap/policy-sequencer.js';
import { resolveTeapPolicy } from '../../../src/teap-brski/teap/policy.js';
import { resolveTeapCompat } from '../../../src/teap-brski/teap/compat.js';
import type { Phase2Output } from '../../../src/teap-brski/teap/phase2-server.js';
import { ALICE, MACHINE, errorCodeOf, isResult, logged, phase2Pair, reencode, sent, type Phase2Pair } from './phase2-harness.js';

const retype = (tlvs: TeapTlv[], to: number): TeapTlv[] => tlvs.map((t) => (t.kind === 'identity-type' ? tlv.identityType(to) : t));
const requestAction = (status: number): TeapTlv => ({ kind: 'request-action', mandatory: false, status, action: RequestActionAction.ProcessTlv, tlvs: [] });

/** Result=Failure + the error, a log line naming the cause, and whatever the peer says next: failure. */
async function expectRefused(p: Phase2Pair, out: Phase2Output, code: number, cause: RegExp): Promise<void> {
  expect(isResult(out, ResultStatus.Failure)).toBe(true);
  expect(errorCodeOf(out)).toBe(code);
  expect(logged(p.log, cause)).toBe(true);
  const final = await p.server.handle(new Uint8Array(0));
  expect(final.kind).toBe('failure');
  if (final.kind === 'failure') expect(final.reason).toMatch(cause);
}

describe('attack 1: an Identity-Type switch cannot satisfy a two-step policy with one step', () => {
  const userThenMachineBasic = {
    sequence: [
      { identityType: 'user' as const, methods: ['eap-mschapv2'] },
      { identityType: 'machine' as const, methods: ['basic-password'] },
    ],
  };

  test('user step answered as machine with EAP-MSCHAPv2, but the machine step allows only basic-password → Result=Failure + 1004', async () => {
    const p = await phase2Pair(userThenMachineBasic, { user: ALICE, machine: ALICE });
    const first = sent(await p.server.begin());
    expect(first.find((t) => t.kind === 'identity-type')).toMatchObject({ identityType: IdentityType.User });
    // The hostile peer answers the user request as if it had asked for a machine.
    const resp = await p.peer.process(reencode(retype(first, IdentityType.Machine)));
    expect(resp.tlvs.find((t) => t.kind === 'identity-type')).toMatchObject({ identityType: IdentityType.Machine });
    const out = await p.server.handle(reencode(resp.tlvs));
    await expectRefused(p, out, TeapErrorCode.UnspecifiedAuthorizationFailure, /switched to Identity-Type machine, whose step 2 allows none of \[eap-mschapv2\]/);
  });

  test('a switch to a pending step whose methods fit is accepted, but the skipped user step still has to run', async () => {
    const policy = { sequence: [{ identityType: 'user' as const, methods: ['eap-mschapv2'] }, { identityType: 'machine' as const, methods: ['eap-mschapv2'] }] };
    const p = await phase2Pair(policy, { user: ALICE, machine: MACHINE });
    let out = await p.server.begin();
    let resp = await p.peer.process(reencode(retype(sent(out), IdentityType.Machine)));
    out = await p.server.handle(reencode(resp.tlvs));
    // The machine step runs to its end (Intermediate-Result, no Result yet: the user step is pending).
    for (let i = 0; i < 10 && out.kind === 'send' && !sent(out).some((t) => t.kind === 'intermediate-result'); i++) {
      resp = await p.peer.process(reencode(sent(out)));
      out = await p.server.handle(reencode(resp.tlvs));
    }
    expect(sent(out).some((t) => t.kind === 'intermediate-result' && t.status === ResultStatus.Success)).toBe(true);
    expect(sent(out).some((t) => t.kind === 'result')).toBe(false);
    expect(logged(p.log, /peer chose a different Identity-Type/)).toBe(true);
    resp = await p.peer.process(reencode(sent(out)));
    out = await p.server.handle(reencode(resp.tlvs));
    // Now the server asks for the user, and a peer that answers "machine" again is refused.
    expect(sent(out).find((t) => t.kind === 'identity-type')).toMatchObject({ identityType: IdentityType.User });
    resp = await p.peer.process(reencode(retype(sent(out), IdentityType.Machine)));
    out = await p.server.handle(reencode(resp.tlvs));
    await expectRefused(p, out, TeapErrorCode.UnspecifiedAuthorizationFailure, /type machine has already been authenticated/);
  });

  test('the same switch followed by an honest user step succeeds, with both identities in the grant', async () => {
    const policy = { sequence: [{ identityType: 'user' as const, methods: ['eap-mschapv2'] }, { identityType: 'machine' as const, methods: ['eap-mschapv2'] }] };
    const p = await phase2Pair(policy, { user: ALICE, machine: MACHINE });
    let out = await p.server.begin();
    let resp = await p.peer.process(reencode(retype(sent(out), IdentityType.Machine)));
    out = await p.server.handle(reencode(resp.tlvs));
    for (let i = 0; i < 20 && out.kind === 'send'; i++) {
      resp = await p.peer.process(reencode(out.tlvs));
      out = await p.server.handle(reencode(resp.tlvs));
    }
    expect(out.kind).toBe('success');
    if (out.kind === 'success') expect(out.grant).toMatchObject({ identity: 'alice', deviceId: 'host/m1' });
  });

  test('identityTypeSwitch: refuse keeps the policy order', async () => {
    const policy = { identityTypeSwitch: 'refuse' as const, sequence: [{ identityType: 'user' as const, methods: ['eap-mschapv2'] }, { identityType: 'machine' as const, methods: ['eap-mschapv2'] }] };
    const p = await phase2Pair(policy, { user: ALICE, machine: MACHINE });
    const resp = await p.peer.process(reencode(retype(sent(await p.server.begin()), IdentityType.Machine)));
    await expectRefused(p, await p.server.handle(reencode(resp.tlvs)), TeapErrorCode.UnspecifiedAuthorizationFailure, /requires its steps in order/);
  });
});

describe('attack 2: a peer\'s Request-Action never stands in for a required step', () => {
  test('valid Phase-1 certificate, certificateOnly off, required EAP-MSCHAPv2: Request-Action(Success) → Result=Failure + 2002', async () => {
    const p = await phase2Pair({ clientCertificate: 'optional', sequence: [{ methods: ['eap-mschapv2'] }] }, { user: ALICE }, { certificate: { identity: 'device-7', deviceId: 'serial:07' } });
    const first = sent(await p.server.begin());
    expect(first.some((t) => t.kind === 'eap-payload')).toBe(true);
    const out = await p.server.handle(reencode([requestAction(ResultStatus.Success)]));
    await expectRefused(p, out, TeapErrorCode.UnexpectedTlvsExchanged, /Request-Action \(Status=1\) instead of answering step 1/);
  });

  test('after step 1 of two, a Request-Action(Success) beside the Intermediate-Result does not end Phase 2; one instead of the next step fails', async () => {
    const policy = { sequence: [{ identityType: 'user' as const, methods: ['eap-mschapv2'] }, { identityType: 'machine' as const, methods: ['basic-password'] }] };
    const p = await phase2Pair(policy, { user: ALICE, machine: MACHINE });
    let out = await p.server.begin();
    let resp = await p.peer.process(reencode(sent(out)));
    for (let i = 0; i < 10 && !sent(out).some((t) => t.kind === 'intermediate-result'); i++) {
      out = await p.server.handle(reencode(resp.tlvs));
      if (sent(out).some((t) => t.kind === 'intermediate-result')) break;
      resp = await p.peer.process(reencode(sent(out)));
    }
    resp = await p.peer.process(reencode(sent(out)));
    out = await p.server.handle(reencode([...resp.tlvs, requestAction(ResultStatus.Success)]));
    expect(sent(out).some((t) => t.kind === 'result')).toBe(false);
    expect(sent(out).some((t) => t.kind === 'basic-password-auth-req')).toBe(true);
    out = await p.server.handle(reencode([requestAction(ResultStatus.Success)]));
    await expectRefused(p, out, TeapErrorCode.UnexpectedTlvsExchanged, /instead of answering step 2/);
  });

  test('after a Result=Success (policy complete), Request-Action(Success) is declined with Result=Success; Request-Action(Failure) with failure', async () => {
    for (const status of [ResultStatus.Success, ResultStatus.Failure]) {
      const p = await phase2Pair({ sequence: [{ methods: ['eap-mschapv2'] }] }, { user: ALICE });
        let out = await p.server.begin();
      let resp = await p.peer.process(reencode(sent(out)));
      while (!sent(out).some((t) => t.kind === 'result')) {
        out = await p.server.handle(reencode(resp.tlvs));
        resp = await p.peer.process(reencode(sent(out)));
      }
      // Keep the peer's Crypto-Binding, replace its Result by a Request-Action.
      const answer = resp.tlvs.filter((t) => t.kind !== 'result');
      out = await p.server.handle(reencode([...answer, requestAction(status)]));
      expect(isResult(out, status)).toBe(true);
      if (status === ResultStatus.Success) {
        // The decline is a fresh Result exchange, bound again by a Crypto-Binding.
        expect(sent(out).some((t) => t.kind === 'crypto-binding')).toBe(true);
      } else {
        expect((await p.server.handle(new Uint8Array(0))).kind).toBe('failure');
      }
    }
  });
});

describe('the Phase-1 certificate satisfies a step only where the policy says so', () => {
  test('a step listing client-certificate is satisfied by it; the others still run', async () => {
    const policy = { clientCertificate: 'optional' as const, sequence: [{ identityType: 'machine' as const, methods: ['client-certificate'] }, { identityType: 'user' as const, methods: ['eap-mschapv2'] }] };
    const p = await phase2Pair(policy, { user: ALICE }, { certificate: { identity: 'device-7', deviceId: 'serial:07' } });
    let out = await p.server.begin();
    expect(sent(out).find((t) => t.kind === 'identity-type')).toMatchObject({ identityType: IdentityType.User });
    for (let i = 0; i < 20 && out.kind === 'send'; i++) {
      const resp = await p.peer.process(reencode(out.tlvs));
      out = await p.server.handle(reencode(resp.tlvs));
    }
    expect(out.kind).toBe('success');
    if (out.kind === 'success') expect(out.grant).toMatchObject({ identity: 'alice', deviceId: 'serial:07' });
  });

  test('without the certificate, a required client-certificate step fails with 1019', async () => {
    const policy = { clientCertificate: 'optional' as const, sequence: [{ identityType: 'machine' as const, methods: ['client-certificate'] }, { identityType: 'user' as const, methods: ['eap-mschapv2'] }] };
    const p = await phase2Pair(policy, { user: ALICE });
    await expectRefused(p, await p.server.begin(), TeapErrorCode.ClientCertificateNotSupplied, /needs a Phase-1 client certificate/);
  });

  test('certificate-only: the certificate is the whole authentication', async () => {
    const p = await phase2Pair({ clientCertificate: 'optional', certificateOnly: true, sequence: [{ methods: ['eap-mschapv2'] }] }, {}, { certificate: { identity: 'device-7', deviceId: 'serial:07' }, certificateOnly: true });
    const out = await p.server.begin();
    expect(isResult(out, ResultStatus.Success)).toBe(true);
  });
});

describe('PolicySequencer on its own', () => {
  const compat = resolveTeapCompat({});
  const policy = resolveTeapPolicy(
    { sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'machine', methods: ['basic-password'], optional: true }] },
    ['eap-mschapv2'],
    compat,
  );

  test('a method of another step does not satisfy the current one', () => {
    const s = new PolicySequencer(policy, undefined, false);
    s.advance();
    expect(() => s.succeeded('basic-password', 'alice')).toThrow(/not a method of step 1/);
    expect(s.isComplete()).toBe(false);
  });

  test('an empty identity is never a success', () => {
    const s = new PolicySequencer(policy, undefined, false);
    s.advance();
    expect(() => s.succeeded('eap-mschapv2', '')).toThrow(/without naming/);
  });

  test('complete only when every required step is satisfied; a failed optional step is skipped', () => {
    const s = new PolicySequencer(policy, undefined, false);
    s.advance();
    s.succeeded('eap-mschapv2', 'alice');
    expect(s.isComplete()).toBe(false);
    expect(s.advance()?.index).toBe(1);
    expect(s.failed()).toBe('skipped');
    expect(s.isComplete()).toBe(true);
  });

  test('a certificate alone does not complete a policy that does not list it', () => {
    const s = new PolicySequencer(policy, { identity: 'device-7' }, false);
    expect(s.isComplete()).toBe(false);
  });

  test('policies with two steps of one Identity-Type, or client-certificate without certificates, are refused', () => {
    expect(() => resolveTeapPolicy({ sequence: [{ identityType: 'user', methods: ['eap-mschapv2'] }, { identityType: 'user', methods: ['basic-password'] }] }, ['eap-mschapv2'], compat)).toThrow(/repeats identityType user/);
    expect(() => resolveTeapPolicy({ sequence: [{ methods: ['client-certificate'] }] }, ['eap-mschapv2'], compat)).toThrow(/clientCertificate is "none"/);
  });
});

