/**
 * How a NOOB peer record's structured parts sit in a database row, the same for every store: the
 * ephemeral data as one JSON text whose secret Z is base64, and the association as five columns.
 * One codec, so that the SQLite and PostgreSQL stores cannot drift apart on what they write.
 */
import type { NoobAssociationData, NoobEphemeralData } from './noob-peers.js';

/** Ephemeral data as stored: the secret Z travels as base64 inside the JSON column. */
type StoredEphemeral = Omit<NoobEphemeralData, 'z'> & { z: string };

export function encodeEphemeral(e: NoobEphemeralData | undefined): string | null {
  if (!e) return null;
  const stored: StoredEphemeral = { ...e, z: Buffer.from(e.z).toString('base64') };
  return JSON.stringify(stored);
}

export function decodeEphemeral(text: string | null): NoobEphemeralData | undefined {
  if (text === null) return undefined;
  const s = JSON.parse(text) as StoredEphemeral;
  return { ...s, z: new Uint8Array(Buffer.from(s.z, 'base64')) };
}

/** The association's columns; all null when there is none (Kz decides). */
export interface AssociationColumns {
  assoc_verp: number | null;
  assoc_cryptosuite: number | null;
  assoc_nai: string | null;
  assoc_kz: Uint8Array | null;
  assoc_server_info: string | null;
}

export function encodeAssociation(a: NoobAssociationData | undefined): { verp: number | null; cryptosuite: number | null; nai: string | null; kz: Buffer | null; serverInfo: string | null } {
  return { verp: a?.verp ?? null, cryptosuite: a?.cryptosuite ?? null, nai: a?.nai ?? null, kz: a ? Buffer.from(a.kz) : null, serverInfo: a?.serverInfo ?? null };
}

export function decodeAssociation(row: AssociationColumns): NoobAssociationData | undefined {
  if (row.assoc_kz === null) return undefined;
  return {
    verp: row.assoc_verp!,
    cryptosuite: row.assoc_cryptosuite!,
    nai: row.assoc_nai!,
    kz: new Uint8Array(row.assoc_kz),
    serverInfo: row.assoc_server_info!,
  };
}
