/**
 * EAP-NOOB messages (RFC 9140 §3.3 and Figures 4–8), in the protocol's own member names.
 *
 * Representation choices:
 * - Integers and arrays of integers are numbers.
 * - Strings that enter Hoob/MAC inputs (PeerId, NewNAI, nonces, ...) are plain strings; the codec
 *   only accepts spellings that equal JSON.stringify(value), so value and wire text agree.
 * - Objects (ServerInfo, PeerInfo, JWKs) are kept as their exact JSON text (`JsonText`), because
 *   RFC 9140 hashes them verbatim; re-encoding could change member order or escaping.
 */

/** The exact JSON text of an object as it appears on the wire. */
export type JsonText = string;

export type PeerState = 0 | 1 | 2 | 3;
export type KeyingMode = 1 | 2 | 3;
/** OOB directions: 1 peer-to-server, 2 server-to-peer, 3 both. */
export type Directions = 1 | 2 | 3;

export interface ErrorMsg {
  Type: 0;
  PeerId?: string;
  ErrorCode: number;
  ErrorInfo?: string;
}

export interface Req1 {
  Type: 1;
}
export interface Rsp1 {
  Type: 1;
  PeerId?: string;
  PeerState: PeerState;
}

export interface Req2 {
  Type: 2;
  Vers: number[];
  PeerId: string;
  NewNAI?: string;
  Cryptosuites: number[];
  Dirs: Directions;
  ServerInfo: JsonText;
}
export interface Rsp2 {
  Type: 2;
  Verp: number;
  PeerId: string;
  Cryptosuitep: number;
  Dirp: Directions;
  PeerInfo: JsonText;
}

export interface Req3 {
  Type: 3;
  PeerId: string;
  PKs: JsonText;
  Ns: string;
  SleepTime?: number;
}
export interface Rsp3 {
  Type: 3;
  PeerId: string;
  PKp: JsonText;
  Np: string;
}

export interface Req4 {
  Type: 4;
  PeerId: string;
  SleepTime?: number;
}
export interface Rsp4 {
  Type: 4;
  PeerId: string;
}

export interface Req5 {
  Type: 5;
  PeerId: string;
}
export interface Rsp5 {
  Type: 5;
  PeerId: string;
  NoobId: string;
}

export interface Req6 {
  Type: 6;
  PeerId: string;
  NoobId: string;
  MACs: string;
}
export interface Rsp6 {
  Type: 6;
  PeerId: string;
  MACp: string;
}

export interface Req7 {
  Type: 7;
  Vers: number[];
  PeerId: string;
  Cryptosuites: number[];
  NewNAI?: string;
  ServerInfo?: JsonText;
}
export interface Rsp7 {
  Type: 7;
  Verp: number;
  PeerId: string;
  Cryptosuitep: number;
  PeerInfo?: JsonText;
}

export interface Req8 {
  Type: 8;
  PeerId: string;
  KeyingMode: KeyingMode;
  PKs2?: JsonText;
  Ns2: string;
}
export interface Rsp8 {
  Type: 8;
  PeerId: string;
  PKp2?: JsonText;
  Np2: string;
}

export interface Req9 {
  Type: 9;
  PeerId: string;
  MACs2: string;
}
export interface Rsp9 {
  Type: 9;
  PeerId: string;
  MACp2: string;
}

/** Server-to-peer messages (EAP-Request). */
export type NoobRequest = ErrorMsg | Req1 | Req2 | Req3 | Req4 | Req5 | Req6 | Req7 | Req8 | Req9;
/** Peer-to-server messages (EAP-Response). */
export type NoobResponse = ErrorMsg | Rsp1 | Rsp2 | Rsp3 | Rsp4 | Rsp5 | Rsp6 | Rsp7 | Rsp8 | Rsp9;
export type NoobMessage = NoobRequest | NoobResponse;

export type RequestOfType<T extends NoobRequest['Type']> = Extract<NoobRequest, { Type: T }>;
export type ResponseOfType<T extends NoobResponse['Type']> = Extract<NoobResponse, { Type: T }>;

/** The one protocol version RFC 9140 defines. */
export const NOOB_VERSION = 1;
/** EAP method Type of EAP-NOOB (RFC 9140 §5.1). */
export const EAP_TYPE_NOOB = 56;
