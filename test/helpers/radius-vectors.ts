import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The copy of shared/specs/radius-vectors.json kept in the repo (test/radius/fixtures checks it against the original). */
export const radiusVectors = JSON.parse(readFileSync(join(__dirname, '..', 'radius', 'fixtures', 'radius-vectors.json'), 'utf8')) as {
  eap_packets: Record<'eap_tls_start' | 'eap_tls_ack_response' | 'legacy_nak_prefer_tls' | 'legacy_nak_none' | 'expanded_nak_none'
    | 'identity_response_nemo' | 'eap_success_id_7a' | 'eap_failure_id_7a', string>;
  eap_tls_1_2_key_material: Record<'prf_hash' | 'label' | 'client_random' | 'server_random' | 'master_secret' | 'key_material_128'
    | 'msk' | 'emsk' | 'session_id' | 'ms_mppe_recv_key' | 'ms_mppe_send_key', string>;
  eap_tls_1_3_key_material: Record<'hash' | 'exporter_master_secret' | 'key_material_label' | 'method_id_label' | 'context'
    | 'key_material_128' | 'msk' | 'emsk' | 'method_id_64' | 'session_id' | 'export_64_octets_same_label_for_comparison', string>;
};
