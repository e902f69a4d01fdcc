import { TeapTlvError } from '../teap/errors.js';
import { CredentialFormat, RequestActionAction, ResultStatus, TlvType, type TeapTlv, type UnknownTlv } from '../teap/tlv-codec.js';

/**
 * TEAP-BRSKI TLV numbers and error codes. draft-lear-eap-teap-brski leaves every one of them TBD
 * and nothing is assigned by IANA, so they are configuration; the defaults are the lab
 * placeholders of ../shared/specs/teap-brski.md §2.3, at the top of the unassigned TLV space.
 * Both our registrar and our pledge take them from here.
 */
export interface BrskiTlvNumbers {
  voucherRequest: number;
  voucher: number;
  retryAfter: number;
  nai: number;
}

export interface BrskiErrorCodes {
  masaNotAvailable: number;
  masaRefused: number;
  invalidSignature: number;
  invalidVoucher: number;
  invalidTlsSigner: number;
  retryPkcs10Reconnect: number;
  csrAttributeFail: number;
  retryPkcs10InTunnel: number;
  naiRejected: number;
}

export const DEFAULT_BRSKI_TLV_NUMBERS: Readonly<BrskiTlvNumbers> = Object.freeze({ voucherRequest: 16380, voucher: 16381, retryAfter: 16382, nai: 16383 });
export const DEFAULT_BRSKI_ERROR_CODES: Readonly<BrskiErrorCodes> = Object.freeze({
  masaNotAvailable: 2901,
  masaRefused: 2902,
  invalidSignature: 2903,
  invalidVoucher: 2904,
  invalidTlsSigner: 2905,
  retryPkcs10Reconnect: 2906,
  csrAttributeFail: 1901,
  retryPkcs10InTunnel: 1902,
  naiRejected: 1903,
});

const STANDARD_TYPES: ReadonlySet<number> = new Set(Object.values(TlvType));

/** Checks a numbering: TLV types 1..16383, distinct, not a type RFC 9930 defines. */
export function checkBrskiTlvNumbers(n: BrskiTlvNumbers): void {
  const values = Object.entries(n);
  for (const [k, v] of values) {
    if (!Number.isInteger(v) || v < 1 || v > 16383) throw new Error(`BRSKI TLV type ${k} must be 1..16383`);
    if (STANDARD_TYPES.has(v)) throw new Error(`BRSKI TLV type ${k} = ${v} is an RFC 9930 TLV type`);
  }
  if (new Set(values.map(([, v]) => v)).size !== values.length) throw new Error('BRSKI TLV types must be distinct');
}

/** What a BRSKI TLV means, read from the `unknown` TLVs of the TEAP codec by configured number. */
export type BrskiTlv =
  | { kind: 'voucher-request'; der: Uint8Array }
  | { kind: 'voucher'; der: Uint8Array }
  | { kind: 'retry-after'; seconds: number }
  | { kind: 'nai'; nai: string };

/** Builds and reads the BRSKI TLVs (all M=0, draft §2.1) under one numbering. */
export class BrskiTlvCodec {
  constructor(readonly numbers: Readonly<BrskiTlvNumbers> = DEFAULT_BRSKI_TLV_NUMBERS) {
    checkBrskiTlvNumbers(numbers);
  }

  voucherRequest(der: Uint8Array): UnknownTlv {
    return { kind: 'unknown', mandatory: false, type: this.numbers.voucherRequest, value: der };
  }

  voucher(der: Uint8Array): UnknownTlv {
    return { kind: 'unknown', mandatory: false, type: this.numbers.voucher, value: der };
  }

  /** Unsigned 32-bit seconds (project choice: the draft gives no width). */
  retryAfter(seconds: number): UnknownTlv {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff) throw new TeapTlvError(`Retry-After ${seconds} does not fit 32 bits`);
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, seconds);
    return { kind: 'unknown', mandatory: false, type: this.numbers.retryAfter, value: v };
  }

  nai(nai: string): UnknownTlv {
    return { kind: 'unknown', mandatory: false, type: this.numbers.nai, value: new Uint8Array(Buffer.from(nai, 'utf8')) };
  }

  /** The BRSKI meaning of a TLV, or undefined when it is not one of ours. */
  read(t: TeapTlv): BrskiTlv | undefined {
    if (t.kind !== 'unknown') return undefined;
    switch (t.type) {
      case this.numbers.voucherRequest:
        return { kind: 'voucher-request', der: t.value };
      case this.numbers.voucher:
        return { kind: 'voucher', der: t.value };
      case this.numbers.retryAfter: {
        // Accept 2 or 4 octets on receipt (teap-brski.md §2.3).
        if (t.value.length !== 2 && t.value.length !== 4) throw new TeapTlvError(`Retry-After of ${t.value.length} octets`);
        const dv = new DataView(t.value.buffer, t.value.byteOffset, t.value.length);
        return { kind: 'retry-after', seconds: t.value.length === 2 ? dv.getUint16(0) : dv.getUint32(0) };
      }
      case this.numbers.nai:
        return { kind: 'nai', nai: Buffer.from(t.value).toString('utf8') };
      default:
        return undefined;
    }
  }

  /** All BRSKI TLVs of a message, in order. */
  readAll(tlvs: readonly TeapTlv[]): BrskiTlv[] {
    return tlvs.map((t) => this.read(t)).filter((b): b is BrskiTlv => b !== undefined);
  }

  /**
   * The registrar's "start BRSKI" (draft Flow B step 3): Request-Action with Status=Failure (a peer
   * that declines ends in failure) and Action=Process-TLV, carrying an empty BRSKI-VoucherRequest,
   * an empty Trusted-Server-Root and an empty PKCS#10.
   */
  startBrski(): TeapTlv {
    return {
      kind: 'request-action',
      mandatory: true,
      status: ResultStatus.Failure,
      action: RequestActionAction.ProcessTlv,
      tlvs: [
        this.voucherRequest(new Uint8Array(0)),
        { kind: 'trusted-server-root', mandatory: false, credentialFormat: CredentialFormat.Pkcs7ServerCertificateRoot, tlvs: [] },
        { kind: 'pkcs10', mandatory: false, der: new Uint8Array(0) },
      ],
    };
  }

  /** The registrar's "please (re-)enrol" (Flow C step 3): Request-Action carrying an empty PKCS#10. */
  startEnrollment(): TeapTlv {
    return {
      kind: 'request-action',
      mandatory: true,
      status: ResultStatus.Failure,
      action: RequestActionAction.ProcessTlv,
      tlvs: [{ kind: 'pkcs10', mandatory: false, der: new Uint8Array(0) }],
    };
  }

  /** What a server Request-Action asks the pledge for. */
  requested(ra: Extract<TeapTlv, { kind: 'request-action' }>): { voucherRequest: boolean; trustedServerRoot: boolean; pkcs10: boolean } {
    return {
      voucherRequest: ra.tlvs.some((t) => this.read(t)?.kind === 'voucher-request'),
      trustedServerRoot: ra.tlvs.some((t) => t.kind === 'trusted-server-root'),
      pkcs10: ra.tlvs.some((t) => t.kind === 'pkcs10'),
    };
  }
}
