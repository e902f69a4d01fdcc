import { TeapTlvError } from './errors.js';
import { decodeRawTlvs, encodeRawTlvs, type RawTlv } from './raw-tlv.js';

/**
 * Vendor-Specific TLV (RFC 9930 §4.2.8): Vendor-Id(4, high octet 0, low three = SMI PEN) followed by
 * "Vendor TLVs in a format defined by the vendor". The format is the vendor's, so the value is kept
 * as bytes; `vendorTlvs()` parses it when a vendor uses the TEAP TLV layout (as the Outer TLV rules
 * in §4.3.1 assume).
 */
export interface VendorSpecificTlv {
  kind: 'vendor-specific';
  mandatory: boolean;
  vendorId: number;
  data: Uint8Array;
}

export function decodeVendorSpecificValue(value: Uint8Array, mandatory: boolean): VendorSpecificTlv {
  if (value.length < 4) throw new TeapTlvError(`Vendor-Specific TLV length ${value.length} < 4`);
  const vendorId = ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
  if (vendorId > 0xffffff) throw new TeapTlvError('Vendor-Specific Vendor-Id high octet is not zero');
  return { kind: 'vendor-specific', mandatory, vendorId, data: value.slice(4) };
}

export function encodeVendorSpecificValue(tlv: VendorSpecificTlv): Uint8Array {
  if (!Number.isInteger(tlv.vendorId) || tlv.vendorId < 0 || tlv.vendorId > 0xffffff) {
    throw new TeapTlvError('Vendor-Id must be a 24-bit Private Enterprise Number');
  }
  const out = new Uint8Array(4 + tlv.data.length);
  new DataView(out.buffer).setUint32(0, tlv.vendorId);
  out.set(tlv.data, 4);
  return out;
}

/** The Vendor TLVs, for vendors that use the TEAP TLV layout inside their Vendor-Specific TLV. */
export function vendorTlvs(tlv: VendorSpecificTlv): RawTlv[] {
  return decodeRawTlvs(tlv.data);
}

export function vendorSpecificTlv(vendorId: number, inner: readonly RawTlv[], mandatory = false): VendorSpecificTlv {
  return { kind: 'vendor-specific', mandatory, vendorId, data: encodeRawTlvs(inner) };
}
