import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../../config/config-error.js';
import { parseListen, type ListenAddress } from '../../config/config.js';
import { parseConnectionCaps } from '../../config/connection-caps.js';
import { ConfigReader } from '../../config/reader.js';
import { SERVICE_CONNECTION_CAPS, type ConnectionCaps } from '../../util/connection-cap.js';
import { TeapErrorCode, teapErrorName } from '../teap/errors.js';
import { DEFAULT_BRSKI_ERROR_CODES, DEFAULT_BRSKI_TLV_NUMBERS, checkBrskiTlvNumbers, type BrskiErrorCodes, type BrskiTlvNumbers } from './tlvs.js';

/** One trusted manufacturer, as configured (paths resolved against the data directory). */
export interface BrskiManufacturerConfig {
  name: string;
  /** PEM files of the CAs that issue its IDevIDs. */
  ca: string[];
  masaUrl?: string;
  /** PEM anchors of the MASA's TLS certificate; absent: the system's. */
  masaCa?: string[];
  approval: 'auto' | 'admin';
  /** PEM anchors of the MASA's voucher signatures (our own check before forwarding). */
  voucherCa?: string[];
  /** 'reject' (default) or 'nonceless': serve a prefetched nonceless voucher while the MASA is down. */
  whenMasaUnavailable: 'reject' | 'nonceless';
}

/** The `brski` section of gangway.yaml: the registrar. */
export interface BrskiConfig {
  manufacturers: BrskiManufacturerConfig[];
  masa: { timeoutMs: number; retries: number; clientCertificate: boolean };
  /** Where the domain CA (ca.pem, ca.key) lives; default the demo PKI's directory, so LDevIDs chain to tls.ca. */
  caDirectory: string;
  ldevidValidityDays?: number;
  /** At most `certificates` certificates per device in any `perSeconds`; 0 certificates: no limit. */
  enrolmentLimit: { certificates: number; perSeconds: number };
  tlvTypes: BrskiTlvNumbers;
  errorCodes: BrskiErrorCodes;
  /** BRSKI/EST over HTTPS (RFC 8995 §5, RFC 7030); absent: TEAP only. */
  https?: ListenAddress;
  /** Connections the HTTPS listener holds open, in all and per source address (src/util/connection-cap.ts). */
  httpsConnections: ConnectionCaps;
  /** Nonceless vouchers fetched ahead of time (`gangway brski prefetch`). */
  offlineVoucherDirectory: string;
}

/**
 * Four certificates a device an hour: room for an enrolment tried again after being cut off (a lost
 * packet, a restart) and for renewal, which a device needs long before its LDevID expires (a day at
 * the shortest validity); more is a fault or someone else holding its key, and each signs and
 * stores a certificate.
 */
export const DEFAULT_ENROLMENT_LIMIT = Object.freeze({ certificates: 4, perSeconds: 3600 });

function enrolmentLimitOf(raw: unknown, path: string): { certificates: number; perSeconds: number } {
  const o = obj(raw, path);
  only(o, ['certificates', 'perSeconds'], path);
  return {
    certificates: o.certificates === undefined ? DEFAULT_ENROLMENT_LIMIT.certificates : int(o.certificates, `${path}.certificates`, 0, 1000),
    perSeconds: o.perSeconds === undefined ? DEFAULT_ENROLMENT_LIMIT.perSeconds : int(o.perSeconds, `${path}.perSeconds`, 1, 31_536_000),
  };
}

const RFC9930_ERROR_CODES: ReadonlySet<number> = new Set(Object.values(TeapErrorCode));

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(path, 'must be a mapping');
  return v as Obj;
}
function only(o: Obj, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ConfigError(`${path}.${k}`, `is not a known setting (known: ${keys.join(', ')})`);
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(path, 'must be a non-empty string');
  return v;
}
function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(path, `must be an integer ${min}..${max}`);
  return v;
}
function paths(v: unknown, path: string, inData: (p: string) => string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(path, 'must be a file path or a non-empty list of them');
  return list.map((p, i) => inData(str(p, `${path}[${i}]`)));
}

export function parseBrskiConfig(raw: unknown, dataDir: string, path = 'brski'): BrskiConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const inData = (p: string): string => (isAbsolute(p) ? p : join(dataDir, p));
  const o = obj(raw, path);
  only(o, ['manufacturers', 'masa', 'caDirectory', 'ldevidValidityDays', 'enrolmentLimit', 'tlvTypes', 'errorCodes', 'https', 'httpsMaxConnections', 'httpsMaxConnectionsPerAddress'], path);
  if (!Array.isArray(o.manufacturers) || o.manufacturers.length === 0) throw new ConfigError(`${path}.manufacturers`, 'must list at least one manufacturer');
  const names = new Set<string>();
  const manufacturers = o.manufacturers.map((m, i): BrskiManufacturerConfig => {
    const mp = `${path}.manufacturers[${i}]`;
    const mo = obj(m, mp);
    only(mo, ['name', 'ca', 'masaUrl', 'masaCa', 'approval', 'voucherCa', 'whenMasaUnavailable'], mp);
    const name = str(mo.name, `${mp}.name`);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new ConfigError(`${mp}.name`, 'must be 1..64 letters, digits, _ . -');
    if (names.has(name)) throw new ConfigError(`${mp}.name`, `"${name}" is configured twice`);
    names.add(name);
    const approval = mo.approval === undefined ? 'admin' : mo.approval;
    if (approval !== 'auto' && approval !== 'admin') throw new ConfigError(`${mp}.approval`, 'must be auto or admin');
    const when = mo.whenMasaUnavailable === undefined ? 'reject' : mo.whenMasaUnavailable;
    if (when !== 'reject' && when !== 'nonceless') throw new ConfigError(`${mp}.whenMasaUnavailable`, 'must be reject or nonceless');
    const out: BrskiManufacturerConfig = { name, ca: paths(mo.ca, `${mp}.ca`, inData), approval, whenMasaUnavailable: when };
    if (mo.masaUrl !== undefined) out.masaUrl = str(mo.masaUrl, `${mp}.masaUrl`);
    if (mo.masaCa !== undefined) out.masaCa = paths(mo.masaCa, `${mp}.masaCa`, inData);
    if (mo.voucherCa !== undefined) out.voucherCa = paths(mo.voucherCa, `${mp}.voucherCa`, inData);
    return out;
  });
  const masa = obj(o.masa, `${path}.masa`);
  only(masa, ['timeoutMs', 'retries', 'clientCertificate'], `${path}.masa`);
  if (masa.clientCertificate !== undefined && typeof masa.clientCertificate !== 'boolean') throw new ConfigError(`${path}.masa.clientCertificate`, 'must be true or false');
  const tlvRaw = obj(o.tlvTypes, `${path}.tlvTypes`);
  only(tlvRaw, Object.keys(DEFAULT_BRSKI_TLV_NUMBERS), `${path}.tlvTypes`);
  const tlvTypes = { ...DEFAULT_BRSKI_TLV_NUMBERS };
  for (const [k, v] of Object.entries(tlvRaw)) tlvTypes[k as keyof BrskiTlvNumbers] = int(v, `${path}.tlvTypes.${k}`, 1, 16383);
  try {
    checkBrskiTlvNumbers(tlvTypes);
  } catch (err) {
    throw new ConfigError(`${path}.tlvTypes`, (err as Error).message);
  }
  const errRaw = obj(o.errorCodes, `${path}.errorCodes`);
  only(errRaw, Object.keys(DEFAULT_BRSKI_ERROR_CODES), `${path}.errorCodes`);
  const errorCodes = { ...DEFAULT_BRSKI_ERROR_CODES };
  for (const [k, v] of Object.entries(errRaw)) {
    const code = int(v, `${path}.errorCodes.${k}`, 1, 0xffffffff);
    // RFC 9930's own codes mean what that RFC says (2002: the TLV exchange broke, and so on).
    if (RFC9930_ERROR_CODES.has(code)) throw new ConfigError(`${path}.errorCodes.${k}`, `${code} is RFC 9930's ${teapErrorName(code)}; choose a code it does not assign`);
    errorCodes[k as keyof BrskiErrorCodes] = code;
  }
  // One code, one meaning: the pledge tells its user which error it was by the number alone.
  const seen = new Map<number, string>();
  for (const [k, code] of Object.entries(errorCodes)) {
    const other = seen.get(code);
    if (other !== undefined) throw new ConfigError(`${path}.errorCodes.${errRaw[k] !== undefined ? k : other}`, `${code} is the code of both ${other} and ${k}; each error needs its own`);
    seen.set(code, k);
  }
  const cfg: BrskiConfig = {
    manufacturers,
    masa: {
      timeoutMs: masa.timeoutMs === undefined ? 8000 : int(masa.timeoutMs, `${path}.masa.timeoutMs`, 500, 25_000),
      retries: masa.retries === undefined ? 1 : int(masa.retries, `${path}.masa.retries`, 0, 5),
      clientCertificate: masa.clientCertificate === undefined ? true : masa.clientCertificate,
    },
    caDirectory: o.caDirectory === undefined ? inData('pki') : inData(str(o.caDirectory, `${path}.caDirectory`)),
    offlineVoucherDirectory: inData(join('brski', 'vouchers')),
    enrolmentLimit: enrolmentLimitOf(o.enrolmentLimit, `${path}.enrolmentLimit`),
    tlvTypes,
    errorCodes,
    httpsConnections: parseConnectionCaps(ConfigReader.root(o, path), SERVICE_CONNECTION_CAPS, { total: 'httpsMaxConnections', perAddress: 'httpsMaxConnectionsPerAddress' }),
  };
  if (o.ldevidValidityDays !== undefined) cfg.ldevidValidityDays = int(o.ldevidValidityDays, `${path}.ldevidValidityDays`, 1, 36500);
  if (o.https !== undefined) cfg.https = parseListen(str(o.https, `${path}.https`), `${path}.https`);
  return cfg;
}
