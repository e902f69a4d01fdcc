/**
 * What a TEAP-BRSKI registrar said when it ended the conversation with Result=Failure, in the
 * draft's terms: its Error codes named, and the wait a Retry-After TLV asks for. Read the same way
 * by the pledge (flow B) and the re-enroller (flow C).
 */
import { teapErrorName } from '../../teap-brski/teap/errors.js';
import type { TeapTlv } from '../../teap-brski/teap/tlv-codec.js';
import type { BrskiErrorCodes, BrskiTlvCodec } from '../../teap-brski/brski/tlvs.js';

export interface ServerRefusal {
  errors: string[];
  /** The Retry-After TLV's seconds: when the registrar will take a PKCS#10 of this device again. */
  retryAfterSeconds?: number;
}

/** The names teap-brski.md gives the draft's error codes. */
const BRSKI_ERROR_NAMES: Readonly<Record<keyof BrskiErrorCodes, string>> = {
  masaNotAvailable: 'MASA-Notavailable',
  masaRefused: 'MASA-Refused',
  invalidSignature: 'Invalid-Signature',
  invalidVoucher: 'Invalid-Voucher',
  invalidTlsSigner: 'Invalid-TLS-Signer',
  retryPkcs10Reconnect: 'Retry-PKCS#10, reconnect later',
  csrAttributeFail: 'CSR-Attribute-Fail',
  retryPkcs10InTunnel: 'Retry-PKCS#10 in the tunnel',
  naiRejected: 'NAI-Rejected',
};

/** A BRSKI or RFC 9930 name for an Error code, with the number ("Retry-PKCS#10, reconnect later (2906)"). */
export function brskiErrorName(code: number, codes: BrskiErrorCodes): string {
  const brski = (Object.keys(codes) as (keyof BrskiErrorCodes)[]).find((k) => codes[k] === code);
  return brski !== undefined ? `${BRSKI_ERROR_NAMES[brski]} (${code})` : teapErrorName(code);
}

export function readServerRefusal(tlvs: readonly TeapTlv[], codec: BrskiTlvCodec, codes: BrskiErrorCodes): ServerRefusal {
  const errors = tlvs.flatMap((t) => (t.kind === 'error' ? [brskiErrorName(t.code, codes)] : []));
  let retryAfterSeconds: number | undefined;
  for (const t of tlvs) {
    let b;
    try {
      b = codec.read(t);
    } catch {
      // A width the draft leaves open and we do not read (neither 2 nor 4 octets): no wait to report.
      continue;
    }
    if (b?.kind === 'retry-after') retryAfterSeconds = b.seconds;
  }
  return { errors, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
}
