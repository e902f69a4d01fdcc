/** Channel binding of a TLS session, as both ends of a tunnel compute it. */
export interface TlsChannelBinding {
  type: 'tls-unique' | 'tls-exporter';
  data: Uint8Array;
}

interface TlsSessionFacts {
  readonly protocol: string | null;
  getFinished(): Uint8Array | undefined;
  getPeerFinished(): Uint8Array | undefined;
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array;
}

/**
 * TLS 1.2: tls-unique (RFC 5929), the first Finished of a full handshake, i.e. the client's.
 * TLS 1.3 has no tls-unique; RFC 9266's tls-exporter (label EXPORTER-Channel-Binding, 32 octets,
 * no context) is the project's choice where RFC 9930 leaves it open (teap-brski.md §4.3).
 * One function for both ends so that pledge and registrar cannot disagree.
 */
export function tlsChannelBinding(tunnel: TlsSessionFacts, role: 'client' | 'server'): TlsChannelBinding | undefined {
  if (tunnel.protocol === 'TLSv1.3') return { type: 'tls-exporter', data: tunnel.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding') };
  const clientFinished = role === 'client' ? tunnel.getFinished() : tunnel.getPeerFinished();
  return clientFinished ? { type: 'tls-unique', data: clientFinished } : undefined;
}
