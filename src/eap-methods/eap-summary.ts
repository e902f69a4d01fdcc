import { EapCode, EapType } from './eap-packet.js';

const CODE_NAMES: Record<number, string> = { [EapCode.Request]: 'Request', [EapCode.Response]: 'Response', [EapCode.Success]: 'Success', [EapCode.Failure]: 'Failure' };
const TYPE_NAMES: Record<number, string> = {
  [EapType.Identity]: 'Identity',
  [EapType.Notification]: 'Notification',
  [EapType.Nak]: 'Nak',
  [EapType.Md5Challenge]: 'MD5-Challenge',
  [EapType.Tls]: 'EAP-TLS',
  [EapType.Ttls]: 'EAP-TTLS',
  [EapType.Peap]: 'PEAP',
  [EapType.MsChapV2]: 'EAP-MSCHAPv2',
  [EapType.Fast]: 'EAP-FAST',
  [EapType.Teap]: 'TEAP',
  [EapType.Noob]: 'EAP-NOOB',
  [EapType.Expanded]: 'Expanded',
};

/**
 * One EAP packet's header in words, for debug logs ("Response/TEAP id=4 len=1004"). Reads only
 * the header, so it is safe on any bytes; the contents never reach the log.
 */
export function describeEap(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'EAP-Start (no EAP-Message)';
  if (bytes.length < 4) return `truncated EAP (${bytes.length} octets)`;
  const code = bytes[0]!;
  const head = `${CODE_NAMES[code] ?? `code ${code}`}`;
  const tail = ` id=${bytes[1]!} len=${(bytes[2]! << 8) | bytes[3]!}`;
  if ((code !== EapCode.Request && code !== EapCode.Response) || bytes.length < 5) return head + tail;
  const type = bytes[4]!;
  return `${head}/${TYPE_NAMES[type] ?? `type ${type}`}${tail}`;
}
