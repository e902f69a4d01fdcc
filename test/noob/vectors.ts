/** Loads the published EAP-NOOB vectors (copied from shared/specs) with light typing. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Profile = 'aalto' | 'rfc_literal';
export const PROFILES: Profile[] = ['aalto', 'rfc_literal'];

export interface CompletionProfile {
  kdf_fixedinfo_hex: string;
  kdf_output_hex: string;
  MSK_hex: string;
  EMSK_hex: string;
  AMSK_hex: string;
  MethodId_hex: string;
  Kms_hex: string;
  Kmp_hex: string;
  Kz_hex: string;
  SessionId_hex: string;
  noobid_hash_input: string;
  NoobId_b64: string;
  MACs_b64: string;
  MACp_b64: string;
  messages: { rsp5: string; req6: string; rsp6: string };
}

export interface InitialCase {
  cryptosuite: 1 | 2;
  messages: Record<'req1' | 'rsp1' | 'req2' | 'rsp2' | 'req3' | 'rsp3' | 'waiting_rsp1' | 'req4' | 'rsp4' | 'completion_rsp1' | 'req5', string>;
  hoob_input: string;
  Hoob_b64: string;
  Hoob_hex: string;
  oob_query: string;
  macs_input: string;
  macp_input: string;
  hoob_if_no_NewNAI: { nai: string; hoob_input: string; Hoob: string };
  profiles: Record<Profile, CompletionProfile>;
}

export interface ReconnectProfile {
  kdf_Z_hex: string;
  kdf_fixedinfo_hex: string;
  kdf_output_hex: string;
  MSK_hex: string;
  EMSK_hex: string;
  AMSK_hex: string;
  MethodId_hex: string;
  Kms2_hex: string;
  Kmp2_hex: string;
  new_Kz_hex?: string;
  SessionId_hex: string;
  MACs2_b64_rfc: string;
  MACp2_b64_rfc: string;
  MACs2_b64_aalto_script: string;
  MACp2_b64_aalto_script: string;
}

export interface ReconnectCase {
  cryptosuite_initial: 1 | 2;
  cryptosuite_reconnect: 1 | 2;
  KeyingMode: 1 | 2 | 3;
  messages: Record<'rsp1' | 'req7' | 'rsp7' | 'req8' | 'rsp8', string>;
  Z2_hex: string | null;
  macs2_input_rfc: string;
  macp2_input_rfc: string;
  macs2_input_aalto_script: string;
  macp2_input_aalto_script: string;
  profiles: Record<Profile, ReconnectProfile>;
}

export interface KeyVectors {
  Z_hex: string;
  PKs_jwk: string;
  PKp_jwk: string;
  server_private_hex: string;
  peer_private_hex: string;
}

export interface LiveTranscript {
  identity: string;
  wire: [string, string][];
  Z_hex: string;
  Ns_hex: string;
  Np_hex: string;
  Noob_hex: string;
  Dir: 1;
  hoob_input: string;
  Hoob_b64: string;
  NoobId_b64: string;
  macs_input: string;
  macp_input: string;
  kdf_output_hex: string;
  MSK_hex: string;
  MethodId_hex: string;
  SessionId_hex: string;
  Kz_hex: string;
  MACs_b64: string;
  MACp_b64: string;
  radius_mppe: { MS_MPPE_Recv_Key_hex: string; MS_MPPE_Send_Key_hex: string };
}

export interface Vectors {
  inputs: {
    PeerId: string;
    Noob_b64: string;
    Noob_hex: string;
    Ns_b64: string;
    Ns_hex: string;
    Np_b64: string;
    Np_hex: string;
    Ns2_b64: string;
    Ns2_hex: string;
    Np2_b64: string;
    Np2_hex: string;
    IdentityNAI_initial: string;
    NewNAI: string;
    SleepTime: number;
    ServerInfo_json: string;
    PeerInfo_json: string;
  };
  keys: { cs1: KeyVectors; cs2: KeyVectors };
  initial_waiting_completion: { cs1: InitialCase; cs2: InitialCase };
  reconnect: Record<'cs1_km1' | 'cs1_km2' | 'cs1_to_cs2_km3' | 'cs2_km1' | 'cs2_km2' | 'cs2_to_cs1_km3', ReconnectCase>;
  live_interop_transcript_vogeltak: LiveTranscript;
  rfc9140_literal_examples: { jwk_cs1_example: string; oob_url_example: string };
}

export const V: Vectors = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'eap-noob-vectors.json'), 'utf8')) as Vectors;

export const RECONNECT_CASES = (Object.keys(V.reconnect) as (keyof Vectors['reconnect'])[]).filter((k) => typeof V.reconnect[k] === 'object');

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
export const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

export function keysOf(suite: 1 | 2): KeyVectors {
  return suite === 1 ? V.keys.cs1 : V.keys.cs2;
}
