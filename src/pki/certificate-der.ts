/**
 * Reads the two things every Access-Accept asks of a client certificate — its serial number and one
 * extension — straight from the DER, without building an ASN.1 tree. A full parse (@peculiar/x509
 * or node:crypto's X509Certificate) cost about a third of the server's CPU per EAP-TLS
 * authentication; walking the TLVs to the extension costs microseconds.
 *
 * Only what RFC 5280 §4.1 allows is accepted on the path walked (single-octet tags, definite
 * lengths of at most four octets, every element inside its parent); anything else is a
 * CertificateDerError. The certificate has been verified by TLS before it gets here; this is not a
 * validator, and nothing here says a certificate is well formed beyond the elements read.
 */

import { canonicalSerialHex } from './ca/serial.js';

export class CertificateDerError extends Error {
  constructor(message: string) {
    super(`certificate DER: ${message}`);
    this.name = 'CertificateDerError';
  }
}

const TAG_INTEGER = 0x02;
const TAG_BOOLEAN = 0x01;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
/** [0] EXPLICIT version, [3] EXPLICIT extensions (constructed, context-specific). */
const TAG_VERSION = 0xa0;
const TAG_EXTENSIONS = 0xa3;

/** One element: its tag and where its contents lie in the buffer. */
interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new CertificateDerError(`element at ${at} runs past its parent`);
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new CertificateDerError(`multi-octet tag at ${at}`);
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; more than 4 octets is no certificate.
    if (octets === 0 || octets > 4) throw new CertificateDerError(`length form 0x${length.toString(16)} at ${at}`);
    if (start + octets > limit) throw new CertificateDerError(`length at ${at} runs past its parent`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  const end = start + length;
  if (end > limit) throw new CertificateDerError(`element at ${at} (${length} octets) runs past its parent`);
  return { tag, start, end };
}

function expect(tlv: Tlv, tag: number, what: string): Tlv {
  if (tlv.tag !== tag) throw new CertificateDerError(`${what}: tag 0x${tlv.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return tlv;
}

function equalAt(der: Uint8Array, tlv: Tlv, want: Uint8Array): boolean {
  if (tlv.end - tlv.start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (der[tlv.start + i] !== want[i]) return false;
  return true;
}

/**
 * The content octets of a dotted OID as DER writes them (no tag or length): what an extension's
 * extnID holds, compared octet for octet.
 */
export function oidContentOctets(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`not an OID: ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new Error(`not an OID: ${dotted}`);
  const out: number[] = [];
  const push = (v: bigint): void => {
    const septets: number[] = [Number(v & 0x7fn)];
    for (let r = v >> 7n; r > 0n; r >>= 7n) septets.unshift(Number(r & 0x7fn) | 0x80);
    out.push(...septets);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return Uint8Array.from(out);
}

/** A certificate's DER with the positions of the elements read so far; the bytes are not copied. */
export class CertificateDer {
  private constructor(
    private readonly der: Uint8Array,
    /** Where the TBSCertificate element (tag and length included) ends; it starts where the Certificate's contents do. */
    private readonly tbsStart: number,
    private readonly tbsEnd: number,
    private readonly serial: Tlv,
    /** The subject Name (an RDNSequence). */
    private readonly subject: Tlv,
    /** The SEQUENCE OF Extension's contents, or undefined when the certificate has none. */
    private readonly extensions: Tlv | undefined,
  ) {}

  /** Walks Certificate → TBSCertificate → serialNumber … extensions. Throws CertificateDerError. */
  static read(der: Uint8Array): CertificateDer {
    const certificate = expect(readTlv(der, 0, der.length), TAG_SEQUENCE, 'Certificate');
    if (certificate.end !== der.length) throw new CertificateDerError(`${der.length - certificate.end} octets after the certificate`);
    const tbs = expect(readTlv(der, certificate.start, certificate.end), TAG_SEQUENCE, 'TBSCertificate');
    let at = tbs.start;
    let next = readTlv(der, at, tbs.end);
    if (next.tag === TAG_VERSION) {
      at = next.end;
      next = readTlv(der, at, tbs.end);
    }
    const serial = expect(next, TAG_INTEGER, 'serialNumber');
    if (serial.end === serial.start) throw new CertificateDerError('empty serialNumber');
    at = serial.end;
    // signature, issuer, validity, subject, subjectPublicKeyInfo: five SEQUENCEs; the subject is kept.
    let subject: Tlv | undefined;
    for (const what of ['signature', 'issuer', 'validity', 'subject', 'subjectPublicKeyInfo']) {
      const field = expect(readTlv(der, at, tbs.end), TAG_SEQUENCE, what);
      if (what === 'subject') subject = field;
      at = field.end;
    }
    let extensions: Tlv | undefined;
    // issuerUniqueID [1] and subjectUniqueID [2] may come first; extensions [3] is last.
    while (at < tbs.end) {
      const field = readTlv(der, at, tbs.end);
      at = field.end;
      if (field.tag === TAG_EXTENSIONS) {
        extensions = expect(readTlv(der, field.start, field.end), TAG_SEQUENCE, 'Extensions');
        if (extensions.end !== field.end || at !== tbs.end) throw new CertificateDerError('data after the extensions');
      } else if (field.tag !== 0x81 && field.tag !== 0xa1 && field.tag !== 0x82 && field.tag !== 0xa2) {
        throw new CertificateDerError(`unexpected field 0x${field.tag.toString(16)} in TBSCertificate`);
      }
    }
    return new CertificateDer(der, certificate.start, tbs.end, serial, subject!, extensions);
  }

  /**
   * The text of the subject's first attribute of this type (`oidContentOctets`), the value as the
   * certificate holds it (no RFC 4514 escaping), or undefined when there is none. Multi-valued RDNs
   * are read attribute by attribute. A value that is not one of PrintableString, IA5String,
   * TeletexString (read as Latin-1), well-formed UTF8String or BMPString is a CertificateDerError:
   * a caller that must read it anyway parses the certificate in full.
   */
  subjectAttributeText(oid: Uint8Array): string | undefined {
    const name = this.subject;
    for (let at = name.start; at < name.end;) {
      const rdn = expect(readTlv(this.der, at, name.end), TAG_SET, 'RelativeDistinguishedName');
      at = rdn.end;
      for (let inner = rdn.start; inner < rdn.end;) {
        const atv = expect(readTlv(this.der, inner, rdn.end), TAG_SEQUENCE, 'AttributeTypeAndValue');
        inner = atv.end;
        const type = expect(readTlv(this.der, atv.start, atv.end), TAG_OID, 'AttributeType');
        if (!equalAt(this.der, type, oid)) continue;
        const value = readTlv(this.der, type.end, atv.end);
        if (value.end !== atv.end) throw new CertificateDerError('data after an attribute value');
        return stringValue(this.der.subarray(value.start, value.end), value.tag);
      }
    }
    return undefined;
  }

  /**
   * The serial number's content octets in lower-case hex, leading zero octets removed (as
   * canonicalSerialHex in pki/ca/serial.ts writes it, the form the issued-certificate store keys).
   * Throws CertificateDerError for a negative serial: node:crypto prints it with a minus sign, and
   * its content octets would otherwise read as a positive serial stripped of its 0x00 pad.
   */
  serialNumberHex(): string {
    if (this.der[this.serial.start]! & 0x80) throw new CertificateDerError('negative serialNumber');
    return canonicalSerialHex(Buffer.from(this.der.buffer, this.der.byteOffset + this.serial.start, this.serial.end - this.serial.start).toString('hex'));
  }

  /**
   * The signed part, TBSCertificate, as encoded (tag and length included). Two certificates with the
   * same TBSCertificate are the same certificate to its issuer, whatever their signature octets
   * (an ECDSA signature has a second valid form, (r, n − s), that anyone can compute).
   */
  tbsCertificate(): Uint8Array {
    return this.der.subarray(this.tbsStart, this.tbsEnd);
  }

  /**
   * The extnValue (the OCTET STRING's contents) of the extension whose extnID has these content
   * octets (`oidContentOctets`), or undefined when the certificate has none.
   */
  extensionValue(oid: Uint8Array): Uint8Array | undefined {
    const list = this.extensions;
    if (!list) return undefined;
    for (let at = list.start; at < list.end;) {
      const ext = expect(readTlv(this.der, at, list.end), TAG_SEQUENCE, 'Extension');
      at = ext.end;
      const id = expect(readTlv(this.der, ext.start, ext.end), TAG_OID, 'extnID');
      if (!equalAt(this.der, id, oid)) continue;
      let field = readTlv(this.der, id.end, ext.end);
      if (field.tag === TAG_BOOLEAN) field = readTlv(this.der, field.end, ext.end);
      const value = expect(field, TAG_OCTET_STRING, 'extnValue');
      if (value.end !== ext.end) throw new CertificateDerError('data after extnValue');
      return this.der.subarray(value.start, value.end);
    }
    return undefined;
  }
}

/** A DirectoryString's text by its universal tag. */
function stringValue(octets: Uint8Array, tag: number): string {
  const b = Buffer.from(octets.buffer, octets.byteOffset, octets.length);
  switch (tag) {
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString
      return b.toString('latin1');
    case 0x0c: // UTF8String; ill-formed octets are not replaced, which would make two values one
      try {
        return UTF8_STRICT.decode(b);
      } catch {
        throw new CertificateDerError('UTF8String that is not UTF-8');
      }
    case 0x1e: { // BMPString: UCS-2, big-endian
      if (b.length % 2 !== 0) throw new CertificateDerError('BMPString of an odd length');
      const le = Buffer.from(b);
      le.swap16();
      return le.toString('utf16le');
    }
    default:
      throw new CertificateDerError(`attribute value of type 0x${tag.toString(16)}`);
  }
}

// ignoreBOM keeps a leading U+FEFF as a character, as the full parse does: stripping it would name
// the IDevID "\uFEFFSN1" as SN1.
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The single element `value` holds, when it is one element of this tag and nothing follows. */
export function onlyElement(value: Uint8Array, tag: number): Uint8Array | undefined {
  let tlv: Tlv;
  try {
    tlv = readTlv(value, 0, value.length);
  } catch {
    return undefined;
  }
  return tlv.tag === tag && tlv.end === value.length ? value.subarray(tlv.start, tlv.end) : undefined;
}
