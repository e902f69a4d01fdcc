import { TeapError, TeapErrorCode } from './errors.js';
import { CLIENT_CERTIFICATE, type TeapIdentityType, type TeapInnerStep, type TeapPolicy } from './policy.js';
import { realmOf } from './policy-rules.js';

/** One authentication that satisfied a policy step: the only facts a grant may be built from. */
export interface StepAuthentication {
  /** Index of the policy step it satisfied. */
  step: number;
  /** Identity-Type in force when it ran (requested, or the peer's accepted switch). */
  identityType: TeapIdentityType | undefined;
  /** Inner method name, or `client-certificate` for the Phase-1 certificate. */
  method: string;
  /** Who the method authenticated (never the peer's claimed outer identity). */
  identity: string;
  /** A device id the method established (TEAP-BRSKI: manufacturer and serial). */
  deviceId?: string;
  /** The client certificate (DER) an inner EAP-TLS proved. */
  certificate?: Uint8Array;
}

/** What the Phase-1 certificate may do for this conversation. */
export interface SequencerOptions {
  /**
   * The certificate satisfies `client-certificate` steps. False under TLS 1.3 unless the policy
   * allows certificate-only TLS 1.3 (RFC 9427 §2.2.1).
   */
  certificateCountsForSteps?: boolean;
  /**
   * The realm of the outer identity that selected this policy by a realm rule. The peer chose it,
   * so every identity authenticated under the policy must be in that realm too.
   */
  requiredRealm?: string;
}

/** The step the server is running now: its own methods, and the Identity-Type it asks for. */
export interface CurrentStep {
  index: number;
  step: Readonly<TeapInnerStep>;
  /** Identity-Type this run counts for (requested, or the peer's accepted switch). */
  identityType: TeapIdentityType | undefined;
  /** Methods of the step that can run inside the tunnel (the certificate pseudo-method removed). */
  runnable: readonly string[];
}

export interface Phase1Certificate {
  identity: string;
  deviceId?: string;
}

type StepStatus = 'pending' | 'satisfied' | 'skipped';

/**
 * The one place that decides whether TEAP Phase 2 is complete (RFC 9930 §3.6, §4.2.3).
 *
 * A step is satisfied only by a method listed in that step, run under that step's Identity-Type;
 * the Phase-1 certificate satisfies a step only where the policy lists `client-certificate`, or
 * everything when the policy is certificate-only. Nothing a peer says (a Request-Action's Status,
 * a Result, a switched Identity-Type) marks a step done: only `succeeded()` after a method has
 * verified credentials does, and only for the step that method belongs to. `isComplete()` is what
 * the Result exchange asks before it may send or accept Result=Success.
 */
export class PolicySequencer {
  private readonly status: StepStatus[];
  private readonly auths: StepAuthentication[] = [];
  private readonly succeededTypes = new Set<TeapIdentityType>();
  private cur: CurrentStep | undefined;

  constructor(
    private readonly policy: Readonly<Pick<TeapPolicy, 'sequence' | 'identityTypeSwitch'>>,
    certificate: Phase1Certificate | undefined,
    certificateOnly: boolean,
    private readonly options: SequencerOptions = {},
  ) {
    this.status = policy.sequence.map(() => 'pending');
    if (certificate && !this.inRequiredRealm(certificate.identity)) certificate = undefined;
    if (certificate && certificateOnly) {
      // Certificate-only policy: the validated Phase-1 certificate is the whole authentication.
      this.auths.push({ step: -1, identityType: undefined, method: CLIENT_CERTIFICATE, identity: certificate.identity });
      this.status.fill('satisfied');
      return;
    }
    if (options.certificateCountsForSteps === false) return;
    for (const [i, step] of policy.sequence.entries()) {
      if (certificate && step.methods.includes(CLIENT_CERTIFICATE)) {
        this.status[i] = 'satisfied';
        this.auths.push({ step: i, identityType: step.identityType, method: CLIENT_CERTIFICATE, identity: certificate.identity });
        if (step.identityType) this.succeededTypes.add(step.identityType);
      }
    }
  }

  /**
   * Every non-optional step has been satisfied (optional ones satisfied or skipped), and something
   * authenticated the peer: a policy of optional steps that all failed authenticates nobody.
   */
  isComplete(): boolean {
    return this.auths.length > 0 && this.policy.sequence.every((s, i) => this.status[i] === 'satisfied' || (s.optional === true && this.status[i] === 'skipped'));
  }

  /** Whether any step is still waiting to run. */
  hasPending(): boolean {
    return this.status.includes('pending');
  }

  /**
   * How many more inner methods the conversation will start at the least before it can succeed:
   * one for each pending step with a method that can run in the tunnel, optional ones too (the
   * server starts every such step, and each start counts against maxInnerMethods); 0 once
   * complete. Infinity when success is out of reach: a pending required step with no method that
   * can run here (only `client-certificate`, and no certificate accepted: advance() fails the
   * conversation there), or nothing has authenticated the peer and no step is left that could.
   */
  methodsNeeded(): number {
    if (this.isComplete()) return 0;
    const pending = this.policy.sequence.filter((_, i) => this.status[i] === 'pending');
    const runnable = (s: TeapInnerStep): boolean => methodsInTunnel(s).length > 0;
    if (!pending.every((s) => s.optional === true || runnable(s))) return Infinity;
    const toRun = pending.filter(runnable).length;
    return toRun === 0 && this.auths.length === 0 ? Infinity : toRun;
  }

  get current(): Readonly<CurrentStep> | undefined {
    return this.cur;
  }

  authentications(): readonly StepAuthentication[] {
    return this.auths;
  }

  /**
   * Moves to the first pending step in policy order. A step with no method runnable inside the
   * tunnel (only `client-certificate`, and no certificate came) cannot be satisfied: it is
   * skipped when optional, otherwise the conversation fails.
   */
  advance(): Readonly<CurrentStep> | undefined {
    this.cur = undefined;
    for (;;) {
      const i = this.status.indexOf('pending');
      if (i < 0) return undefined;
      const step = this.policy.sequence[i]!;
      const runnable = methodsInTunnel(step);
      if (runnable.length === 0) {
        if (step.optional) {
          this.status[i] = 'skipped';
          continue;
        }
        throw new TeapError(TeapErrorCode.ClientCertificateNotSupplied, `step ${i + 1} needs a Phase-1 client certificate and none was accepted`);
      }
      this.cur = { index: i, step, identityType: step.identityType, runnable };
      return this.cur;
    }
  }

  /**
   * The peer answered the current step's first request with Identity-Type `answered` (RFC 9930
   * §4.2.3). Echoing the request, or naming no type, changes nothing. A different type is accepted
   * only if it has not yet succeeded and, for a typed step, only by moving to a pending step of
   * that type (whose own methods must then complete it); the step asked for stays pending.
   * Anything else is an authorization failure (Error 1004).
   */
  answerIdentityType(answered: number, typeName: TeapIdentityType | undefined): Readonly<CurrentStep> {
    const cur = this.requireCurrent();
    if (typeName !== undefined && typeName === cur.identityType) return cur;
    const refuse = (why: string): never => {
      throw new TeapError(TeapErrorCode.UnspecifiedAuthorizationFailure, `peer answered Identity-Type ${answered} to step ${cur.index + 1} (${cur.identityType ?? 'untyped'}): ${why}`);
    };
    if (typeName === undefined) return refuse('unknown Identity-Type value');
    if (this.succeededTypes.has(typeName)) return refuse(`type ${typeName} has already been authenticated`);
    if (cur.step.identityType === undefined) {
      // An untyped step takes the type the peer names; its methods still decide.
      this.cur = { ...cur, identityType: typeName };
      return this.cur;
    }
    if (this.policy.identityTypeSwitch === 'refuse') return refuse('the policy requires its steps in order');
    const j = this.policy.sequence.findIndex((s, i) => i !== cur.index && this.status[i] === 'pending' && s.identityType === typeName);
    if (j < 0) return refuse(`no pending step of type ${typeName}`);
    const step = this.policy.sequence[j]!;
    this.cur = { index: j, step, identityType: typeName, runnable: methodsInTunnel(step) };
    return this.cur;
  }

  /**
   * A method verified the peer's credentials. It counts only if it is one of the current step's
   * methods; the identity is what the method authenticated.
   */
  succeeded(method: string, identity: string, deviceId?: string, certificate?: Uint8Array): StepAuthentication {
    const cur = this.requireCurrent();
    if (!cur.runnable.includes(method)) {
      throw new TeapError(TeapErrorCode.UnspecifiedAuthorizationFailure, `${method} is not a method of step ${cur.index + 1} [${cur.runnable.join(', ')}]`);
    }
    if (identity.length === 0) throw new TeapError(TeapErrorCode.UnspecifiedAuthenticationFailure, `${method} succeeded without naming whom it authenticated`);
    if (!this.inRequiredRealm(identity)) {
      throw new TeapError(TeapErrorCode.UnspecifiedAuthorizationFailure, `"${identity}" is not in realm ${this.options.requiredRealm}, whose rule chose this policy`);
    }
    const auth: StepAuthentication = { step: cur.index, identityType: cur.identityType, method, identity, ...(deviceId !== undefined ? { deviceId } : {}), ...(certificate ? { certificate } : {}) };
    this.status[cur.index] = 'satisfied';
    this.auths.push(auth);
    if (cur.identityType) this.succeededTypes.add(cur.identityType);
    this.cur = undefined;
    return auth;
  }

  /** The current step's methods all failed or were declined: skipped if optional, else fatal. */
  failed(): 'skipped' | 'fatal' {
    const cur = this.requireCurrent();
    this.cur = undefined;
    if (cur.step.optional) {
      this.status[cur.index] = 'skipped';
      return 'skipped';
    }
    return 'fatal';
  }

  private inRequiredRealm(identity: string): boolean {
    return this.options.requiredRealm === undefined || realmOf(identity) === this.options.requiredRealm.toLowerCase();
  }

  private requireCurrent(): CurrentStep {
    if (!this.cur) throw new TeapError(TeapErrorCode.UnexpectedTlvsExchanged, 'no policy step is running');
    return this.cur;
  }
}

/** The step's methods that run inside the tunnel: all but `client-certificate`, which Phase 1 settles. */
function methodsInTunnel(step: TeapInnerStep): string[] {
  return step.methods.filter((m) => m !== CLIENT_CERTIFICATE);
}
