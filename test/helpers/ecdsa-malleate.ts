/**
 * The second valid form of an ECDSA signature: (r, s) and (r, n − s) both verify, and anyone can
 * turn one into the other. A certificate so altered is the same certificate with other DER octets;
 * tests use it to show that "the certificate we issued" is recognised by what was signed.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { ECDSASigValue } from '@peculiar/asn1-ecc';

/** The order of P-256's base point (SEC 2 §2.4.2). */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function unsignedInteger(value: bigint): ArrayBuffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const raw = Buffer.from(hex, 'hex');
  const der = raw[0]! & 0x80 ? Buffer.concat([Buffer.of(0), raw]) : raw;
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.length);
}

/** A P-256-signed certificate with its signature's s replaced by n − s. */
export function malleateP256Certificate(der: Uint8Array): Uint8Array {
  const cert = AsnConvert.parse(der, Certificate);
  const sig = AsnConvert.parse(cert.signatureValue, ECDSASigValue);
  sig.s = unsignedInteger(P256_ORDER - BigInt(`0x${Buffer.from(sig.s).toString('hex')}`));
  cert.signatureValue = AsnConvert.serialize(sig);
  return new Uint8Array(AsnConvert.serialize(cert));
}
