import type { EapMethod } from '../../eap-methods/method.js';
import { ConfigError } from '../../config/config-error.js';
import { createEapTlsMethod, type EapTlsConfig } from '../../eap-methods/eap-tls/method.js';
import { createMschapV2Method } from '../../eap-methods/mschapv2/method.js';
import type { UserStore } from '../../store/users.js';
import { PasswordLockout, type LockoutGate } from '../../eap-methods/password-lockout.js';
import type { Log } from '../../util/log.js';
import { resolveTeapCompat, type TeapCompat } from './compat.js';
import { BASIC_PASSWORD, type TeapInnerStep, type TeapPolicy } from './policy.js';
import type { ReassemblyLimits } from './fragmentation.js';
import { createTeapMethod, type TeapTlsConfig } from './method.js';
import type { ManufacturerAnchors, TeapPolicyRule } from './policy-rules.js';
import type { TlvMethod } from './tlv-method.js';

/**
 * The `methods.teap` section of gangway.yaml, checked. Unknown keys are errors so that a typo in a
 * compatibility switch does not silently keep the default.
 */
export interface TeapMethodConfig {
  /** Inner EAP methods to build: 'eap-mschapv2' and/or 'eap-tls'. */
  innerMethods: ('eap-mschapv2' | 'eap-tls')[];
  /** Name in the MS-CHAPv2 Challenge. */
  mschapv2ServerName: string;
  authorityId?: Uint8Array;
  policy: Partial<TeapPolicy>;
  /** Named policies, chosen per conversation by `rules`. */
  policies: Record<string, Partial<TeapPolicy>>;
  rules: TeapPolicyRule[];
  compat: Partial<TeapCompat>;
  limits: Partial<ReassemblyLimits>;
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(path, `must be a mapping`);
  return v as Obj;
}
function only(o: Obj, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ConfigError(`${path}.${k}`, `is not a known setting (known: ${keys.join(', ')})`);
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new ConfigError(path, `must be a string`);
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, `must be true or false`);
  return v;
}
function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(path, `must be an integer ${min}..${max}`);
  return v;
}
function oneOf<T extends string>(v: unknown, path: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !choices.includes(v as T)) throw new ConfigError(path, `must be one of ${choices.join(', ')}`);
  return v as T;
}

const INNER = ['eap-mschapv2', 'eap-tls'] as const;

export function parseTeapMethodConfig(raw: unknown, path = 'methods.teap'): TeapMethodConfig {
  const o = obj(raw, path);
  only(o, ['innerMethods', 'mschapv2ServerName', 'authorityId', 'policy', 'policies', 'rules', 'compat', 'limits'], path);
  const innerMethods = o.innerMethods === undefined
    ? [...INNER]
    : (() => {
        if (!Array.isArray(o.innerMethods)) throw new ConfigError(`${path}.innerMethods`, `must be a list`);
        return o.innerMethods.map((m, i) => oneOf(m, `${path}.innerMethods[${i}]`, INNER));
      })();
  const cfg: TeapMethodConfig = {
    innerMethods,
    mschapv2ServerName: o.mschapv2ServerName === undefined ? 'gangway' : str(o.mschapv2ServerName, `${path}.mschapv2ServerName`),
    policy: parsePolicy(o.policy, `${path}.policy`),
    policies: {},
    rules: [],
    compat: {},
    limits: {},
  };
  const named = obj(o.policies, `${path}.policies`);
  for (const [name, p] of Object.entries(named)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new ConfigError(`${path}.policies.${name}`, 'policy names are 1..64 letters, digits, _ . -');
    cfg.policies[name] = parsePolicy(p, `${path}.policies.${name}`);
  }
  if (o.rules !== undefined) {
    if (!Array.isArray(o.rules)) throw new ConfigError(`${path}.rules`, 'must be a list');
    cfg.rules = o.rules.map((r, i): TeapPolicyRule => {
      const rp = `${path}.rules[${i}]`;
      const ro = obj(r, rp);
      only(ro, ['realm', 'nas', 'certificate', 'policy'], rp);
      const policy = str(ro.policy, `${rp}.policy`);
      if (!(policy in cfg.policies)) throw new ConfigError(`${rp}.policy`, `names no policy under ${path}.policies (known: ${Object.keys(cfg.policies).join(', ') || 'none'})`);
      const rule: TeapPolicyRule = { policy };
      if (ro.realm !== undefined) rule.realm = str(ro.realm, `${rp}.realm`);
      if (ro.nas !== undefined) rule.nas = str(ro.nas, `${rp}.nas`);
      if (ro.certificate !== undefined) {
        const c = str(ro.certificate, `${rp}.certificate`);
        if (c !== 'domain' && c !== 'manufacturer' && !/^manufacturer:[^\s]+$/.test(c)) throw new ConfigError(`${rp}.certificate`, 'must be domain, manufacturer or manufacturer:NAME');
        rule.certificate = c;
      }
      if (rule.realm === undefined && rule.nas === undefined && rule.certificate === undefined) throw new ConfigError(rp, 'needs at least one of realm, nas, certificate');
      return rule;
    });
  }
  if (o.authorityId !== undefined) {
    const hex = str(o.authorityId, `${path}.authorityId`);
    if (!/^([0-9a-fA-F]{2}){1,255}$/.test(hex)) throw new ConfigError(`${path}.authorityId`, `must be 1..255 octets of hex`);
    cfg.authorityId = new Uint8Array(Buffer.from(hex, 'hex'));
  }
  try {
    cfg.compat = resolveTeapCompat(obj(o.compat, `${path}.compat`));
  } catch (err) {
    throw new ConfigError(`${path}.compat`, (err as Error).message);
  }
  const limits = obj(o.limits, `${path}.limits`);
  only(limits, ['maxMessageLength', 'maxFragments'], `${path}.limits`);
  if (limits.maxMessageLength !== undefined) cfg.limits.maxMessageLength = int(limits.maxMessageLength, `${path}.limits.maxMessageLength`, 4096, 1 << 20);
  if (limits.maxFragments !== undefined) cfg.limits.maxFragments = int(limits.maxFragments, `${path}.limits.maxFragments`, 1, 1024);
  return cfg;
}

function parsePolicy(raw: unknown, path: string): Partial<TeapPolicy> {
  const o = obj(raw, path);
  only(o, ['clientCertificate', 'certificateOnly', 'certificateOnlyTls13', 'sequence', 'maxInnerMethods', 'basicPasswordPrompt', 'requireEmskMac', 'emskAfterMskOnly', 'maxPhase2Rounds', 'maxNaks', 'identityTypeSwitch'], path);
  const p: Partial<TeapPolicy> = {};
  if (o.clientCertificate !== undefined) p.clientCertificate = oneOf(o.clientCertificate, `${path}.clientCertificate`, ['none', 'optional', 'required'] as const);
  if (o.certificateOnly !== undefined) p.certificateOnly = bool(o.certificateOnly, `${path}.certificateOnly`);
  if (o.certificateOnlyTls13 !== undefined) p.certificateOnlyTls13 = bool(o.certificateOnlyTls13, `${path}.certificateOnlyTls13`);
  if (o.requireEmskMac !== undefined) p.requireEmskMac = bool(o.requireEmskMac, `${path}.requireEmskMac`);
  if (o.emskAfterMskOnly !== undefined) p.emskAfterMskOnly = oneOf(o.emskAfterMskOnly, `${path}.emskAfterMskOnly`, ['reject', 'msk-mac-only'] as const);
  if (o.basicPasswordPrompt !== undefined) p.basicPasswordPrompt = str(o.basicPasswordPrompt, `${path}.basicPasswordPrompt`);
  if (o.maxInnerMethods !== undefined) p.maxInnerMethods = int(o.maxInnerMethods, `${path}.maxInnerMethods`, 1, 16);
  if (o.maxPhase2Rounds !== undefined) p.maxPhase2Rounds = int(o.maxPhase2Rounds, `${path}.maxPhase2Rounds`, 2, 200);
  if (o.identityTypeSwitch !== undefined) p.identityTypeSwitch = oneOf(o.identityTypeSwitch, `${path}.identityTypeSwitch`, ['pending-step', 'refuse'] as const);
  if (o.maxNaks !== undefined) p.maxNaks = int(o.maxNaks, `${path}.maxNaks`, 0, 16);
  if (o.sequence !== undefined) {
    if (!Array.isArray(o.sequence)) throw new ConfigError(`${path}.sequence`, `must be a list`);
    p.sequence = o.sequence.map((s, i): TeapInnerStep => {
      const sp = `${path}.sequence[${i}]`;
      const so = obj(s, sp);
      only(so, ['identityType', 'methods', 'optional'], sp);
      if (!Array.isArray(so.methods) || so.methods.length === 0) throw new ConfigError(`${sp}.methods`, `must be a non-empty list`);
      const step: TeapInnerStep = { methods: so.methods.map((m, j) => str(m, `${sp}.methods[${j}]`)) };
      if (so.identityType !== undefined) step.identityType = oneOf(so.identityType, `${sp}.identityType`, ['user', 'machine'] as const);
      if (so.optional !== undefined) step.optional = bool(so.optional, `${sp}.optional`);
      return step;
    });
  }
  return p;
}

export interface TeapBuildDeps {
  /** The server's TLS settings (gangway.yaml `tls`), used for the tunnel and for inner EAP-TLS. */
  tls: TeapTlsConfig & Pick<EapTlsConfig, 'maxTlsMessage' | 'isRevoked'>;
  /** Accounts for EAP-MSCHAPv2 and Basic-Password-Auth. */
  users: Pick<UserStore, 'get'>;
  /** Failure throttling shared by inner EAP-MSCHAPv2 and Basic-Password-Auth (and the server's bare methods). */
  passwordLockout?: LockoutGate;
  /** Further inner EAP methods (plugins) the policy may name. */
  extraInnerMethods?: readonly EapMethod[];
  /** Phase-2 TLV methods (TEAP-BRSKI enrolment) the policies may name. */
  tlvMethods?: readonly TlvMethod[];
  /** Trusted manufacturers' IDevID CAs (from the `brski` section). */
  manufacturers?: readonly ManufacturerAnchors[];
  log?: Log;
}

/** Builds the TEAP method and its inner methods from a parsed configuration. */
export function buildTeapMethod(cfg: TeapMethodConfig, deps: TeapBuildDeps): EapMethod {
  const inner: EapMethod[] = [];
  const passwordLockout = deps.passwordLockout ?? new PasswordLockout();
  if (cfg.innerMethods.includes('eap-mschapv2')) inner.push(createMschapV2Method({ users: deps.users, serverName: cfg.mschapv2ServerName, lockout: passwordLockout }));
  if (cfg.innerMethods.includes('eap-tls')) {
    if (deps.tls.ca === undefined) throw new Error('inner EAP-TLS needs tls.ca');
    inner.push(createEapTlsMethod({
      cert: deps.tls.cert,
      key: deps.tls.key,
      ca: deps.tls.ca,
      ...(deps.tls.crl !== undefined ? { crl: deps.tls.crl } : {}),
      ...(deps.tls.minVersion !== undefined ? { minVersion: deps.tls.minVersion } : {}),
      ...(deps.tls.maxVersion !== undefined ? { maxVersion: deps.tls.maxVersion } : {}),
      ...(deps.tls.maxTlsMessage !== undefined ? { maxTlsMessage: deps.tls.maxTlsMessage } : {}),
      ...(deps.tls.isRevoked !== undefined ? { isRevoked: deps.tls.isRevoked } : {}),
      ...(deps.tls.engine !== undefined ? { engine: deps.tls.engine } : {}),
    }));
  }
  inner.push(...(deps.extraInnerMethods ?? []));
  const usesBasic = [cfg.policy, ...Object.values(cfg.policies)].some((p) => (p.sequence ?? []).some((s) => s.methods.includes(BASIC_PASSWORD)));
  deps.log?.debug({ inner: inner.map((m) => m.name), basicPassword: usesBasic }, 'TEAP inner methods');
  return createTeapMethod({
    tls: deps.tls,
    users: deps.users,
    passwordLockout,
    innerMethods: inner,
    policy: cfg.policy,
    policies: cfg.policies,
    rules: cfg.rules,
    ...(deps.tlvMethods ? { tlvMethods: deps.tlvMethods } : {}),
    ...(deps.manufacturers ? { manufacturers: deps.manufacturers } : {}),
    compat: cfg.compat,
    limits: cfg.limits,
    ...(cfg.authorityId ? { authorityId: cfg.authorityId } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
}
