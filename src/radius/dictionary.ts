/**
 * Attribute numbers and value enumerations we use, with the data type that decides how a value
 * is interpreted. Names follow the RFC spelling so logs match FreeRADIUS/radclient output.
 */

export type AttributeDataType =
  | 'string' // text, UTF-8 by convention
  | 'octets'
  | 'integer' // 32-bit unsigned, network order
  | 'ipaddr'
  | 'ipv6addr'
  | 'ipv6prefix'
  | 'date' // 32-bit seconds since the Unix epoch
  | 'user-password' // RFC 2865 §5.2 hiding
  | 'tagged-integer' // RFC 2868: Tag(1) + 24-bit integer
  | 'tagged-string' // RFC 2868: optional Tag (0x00..0x1F) + string
  | 'tagged-salted' // RFC 2868 Tunnel-Password: Tag + Salt + encrypted
  | 'vsa'
  | 'extended'; // RFC 6929 spaces: opaque to us

export const AttributeType = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ServiceType: 6,
  FramedProtocol: 7,
  FramedIpAddress: 8,
  FramedIpNetmask: 9,
  FramedRouting: 10,
  FilterId: 11,
  FramedMtu: 12,
  FramedCompression: 13,
  LoginIpHost: 14,
  LoginService: 15,
  LoginTcpPort: 16,
  ReplyMessage: 18,
  CallbackNumber: 19,
  CallbackId: 20,
  FramedRoute: 22,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  SessionTimeout: 27,
  IdleTimeout: 28,
  TerminationAction: 29,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctAuthentic: 45,
  AcctSessionTime: 46,
  AcctInputPackets: 47,
  AcctOutputPackets: 48,
  AcctTerminateCause: 49,
  AcctMultiSessionId: 50,
  AcctLinkCount: 51,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  EventTimestamp: 55,
  EgressVlanId: 56,
  EgressVlanName: 58,
  ChapChallenge: 60,
  NasPortType: 61,
  PortLimit: 62,
  TunnelType: 64,
  TunnelMediumType: 65,
  TunnelPassword: 69,
  ConnectInfo: 77,
  EapMessage: 79,
  MessageAuthenticator: 80,
  TunnelPrivateGroupId: 81,
  AcctInterimInterval: 85,
  NasPortId: 87,
  ChargeableUserIdentity: 89,
  NasFilterRule: 92,
  NasIpv6Address: 95,
  FramedInterfaceId: 96,
  FramedIpv6Prefix: 97,
  ErrorCause: 101,
  EapKeyName: 102,
  ExtendedType1: 241,
  ExtendedType2: 242,
  ExtendedType3: 243,
  ExtendedType4: 244,
  LongExtendedType1: 245,
  LongExtendedType2: 246,
} as const;

/** [type, RFC name, data type] */
const TABLE: ReadonlyArray<readonly [number, string, AttributeDataType]> = [
  [1, 'User-Name', 'string'],
  [2, 'User-Password', 'user-password'],
  [3, 'CHAP-Password', 'octets'],
  [4, 'NAS-IP-Address', 'ipaddr'],
  [5, 'NAS-Port', 'integer'],
  [6, 'Service-Type', 'integer'],
  [7, 'Framed-Protocol', 'integer'],
  [8, 'Framed-IP-Address', 'ipaddr'],
  [9, 'Framed-IP-Netmask', 'ipaddr'],
  [10, 'Framed-Routing', 'integer'],
  [11, 'Filter-Id', 'string'],
  [12, 'Framed-MTU', 'integer'],
  [13, 'Framed-Compression', 'integer'],
  [14, 'Login-IP-Host', 'ipaddr'],
  [15, 'Login-Service', 'integer'],
  [16, 'Login-TCP-Port', 'integer'],
  [18, 'Reply-Message', 'string'],
  [19, 'Callback-Number', 'string'],
  [20, 'Callback-Id', 'string'],
  [22, 'Framed-Route', 'string'],
  [24, 'State', 'octets'],
  [25, 'Class', 'octets'],
  [26, 'Vendor-Specific', 'vsa'],
  [27, 'Session-Timeout', 'integer'],
  [28, 'Idle-Timeout', 'integer'],
  [29, 'Termination-Action', 'integer'],
  [30, 'Called-Station-Id', 'string'],
  [31, 'Calling-Station-Id', 'string'],
  [32, 'NAS-Identifier', 'string'],
  [33, 'Proxy-State', 'octets'],
  [40, 'Acct-Status-Type', 'integer'],
  [41, 'Acct-Delay-Time', 'integer'],
  [42, 'Acct-Input-Octets', 'integer'],
  [43, 'Acct-Output-Octets', 'integer'],
  [44, 'Acct-Session-Id', 'string'],
  [45, 'Acct-Authentic', 'integer'],
  [46, 'Acct-Session-Time', 'integer'],
  [47, 'Acct-Input-Packets', 'integer'],
  [48, 'Acct-Output-Packets', 'integer'],
  [49, 'Acct-Terminate-Cause', 'integer'],
  [50, 'Acct-Multi-Session-Id', 'string'],
  [51, 'Acct-Link-Count', 'integer'],
  [52, 'Acct-Input-Gigawords', 'integer'],
  [53, 'Acct-Output-Gigawords', 'integer'],
  [55, 'Event-Timestamp', 'date'],
  [56, 'Egress-VLANID', 'integer'],
  [58, 'Egress-VLAN-Name', 'string'],
  [60, 'CHAP-Challenge', 'octets'],
  [61, 'NAS-Port-Type', 'integer'],
  [62, 'Port-Limit', 'integer'],
  [64, 'Tunnel-Type', 'tagged-integer'],
  [65, 'Tunnel-Medium-Type', 'tagged-integer'],
  [69, 'Tunnel-Password', 'tagged-salted'],
  [77, 'Connect-Info', 'string'],
  [79, 'EAP-Message', 'octets'],
  [80, 'Message-Authenticator', 'octets'],
  [81, 'Tunnel-Private-Group-ID', 'tagged-string'],
  [85, 'Acct-Interim-Interval', 'integer'],
  [87, 'NAS-Port-Id', 'string'],
  [89, 'Chargeable-User-Identity', 'octets'],
  [92, 'NAS-Filter-Rule', 'string'],
  [95, 'NAS-IPv6-Address', 'ipv6addr'],
  [96, 'Framed-Interface-Id', 'octets'],
  [97, 'Framed-IPv6-Prefix', 'ipv6prefix'],
  [101, 'Error-Cause', 'integer'],
  [102, 'EAP-Key-Name', 'octets'],
  [241, 'Extended-Type-1', 'extended'],
  [242, 'Extended-Type-2', 'extended'],
  [243, 'Extended-Type-3', 'extended'],
  [244, 'Extended-Type-4', 'extended'],
  [245, 'Long-Extended-Type-1', 'extended'],
  [246, 'Long-Extended-Type-2', 'extended'],
];

const BY_TYPE = new Map<number, { name: string; dataType: AttributeDataType }>(
  TABLE.map(([type, name, dataType]) => [type, { name, dataType }]),
);
const BY_NAME = new Map<string, number>(TABLE.map(([type, name]) => [name.toLowerCase(), type]));

/** RFC name of a standard attribute, or undefined for types we do not know. */
export function attributeName(type: number): string | undefined {
  return BY_TYPE.get(type)?.name;
}

/** Number for an RFC attribute name (case-insensitive, as in FreeRADIUS dictionaries). */
export function attributeTypeByName(name: string): number | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Unknown types are opaque octets: RFC 2865 §5 says ignore, never reinterpret. */
export function attributeDataType(type: number): AttributeDataType {
  return BY_TYPE.get(type)?.dataType ?? 'octets';
}

export const VendorId = {
  Microsoft: 311,
} as const;

/** RFC 2548 sub-attribute numbers under vendor 311. */
export const MicrosoftAttributeType = {
  MsChapResponse: 1,
  MsChapError: 2,
  MsMppeEncryptionPolicy: 7,
  MsMppeEncryptionTypes: 8,
  MsChapChallenge: 11,
  MsMppeSendKey: 16,
  MsMppeRecvKey: 17,
  MsChap2Response: 25,
  MsChap2Success: 26,
} as const;

export const ServiceType = {
  Login: 1,
  Framed: 2,
  CallbackLogin: 3,
  CallbackFramed: 4,
  Outbound: 5,
  Administrative: 6,
  NasPrompt: 7,
  AuthenticateOnly: 8,
  CallbackNasPrompt: 9,
  CallCheck: 10,
  CallbackAdministrative: 11,
  AuthorizeOnly: 17,
} as const;

export const NasPortType = {
  Async: 0,
  Virtual: 5,
  Ethernet: 15,
  Wireless80211: 19,
} as const;

export const TerminationAction = {
  Default: 0,
  RadiusRequest: 1,
} as const;

export const AcctStatusType = {
  Start: 1,
  Stop: 2,
  InterimUpdate: 3,
  AccountingOn: 7,
  AccountingOff: 8,
} as const;

/** RFC 2868 §3.1 / RFC 3580 §3.31 */
export const TunnelType = {
  Vlan: 13,
} as const;

/** RFC 2868 §3.2 */
export const TunnelMediumType = {
  Ipv4: 1,
  Ipv6: 2,
  Ieee802: 6,
} as const;

/** RFC 5176 §3.5 and RFC 3579 §2.2; 510 is only proposed by the BlastRADIUS draft. */
export const ErrorCause = {
  ResidualSessionContextRemoved: 201,
  InvalidEapPacketIgnored: 202,
  UnsupportedAttribute: 401,
  MissingAttribute: 402,
  NasIdentificationMismatch: 403,
  InvalidRequest: 404,
  UnsupportedService: 405,
  UnsupportedExtension: 406,
  InvalidAttributeValue: 407,
  AdministrativelyProhibited: 501,
  RequestNotRoutable: 502,
  SessionContextNotFound: 503,
  SessionContextNotRemovable: 504,
  OtherProxyProcessingError: 505,
  ResourcesUnavailable: 506,
  RequestInitiated: 507,
  MultipleSessionSelectionUnsupported: 508,
  MissingMessageAuthenticator: 510,
} as const;
