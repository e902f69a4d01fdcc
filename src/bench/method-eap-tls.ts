/** EAP-TLS with the demo client certificate, TLS 1.2 or TLS 1.3 pinned on the peer. */
import * as tls from 'node:tls';
import { EapTlsEapPeer } from '../peer/eap-tls/eap-tls-eap-peer.js';
import { runEapOverRadius } from '../peer/radius-runner.js';
import { FRAMED_MTU, METHOD_SERVERS, loadClient, serverCheck, stationId, type BenchMethod, type MethodContext, type MethodDriver } from './method.js';

async function prepare(ctx: MethodContext, version: 'TLSv1.2' | 'TLSv1.3'): Promise<MethodDriver> {
  const { credentials: c, target } = ctx;
  if (!c.tls) throw new Error('EAP-TLS needs a client certificate and key (--tls-cert, --tls-key)');
  const { certPem, keyPem, identity } = c.tls;
  const client = loadClient(target, ctx.roundTrips);
  // One parsed context for all conversations, as a device keeps its credentials loaded; pinning
  // min and max makes any other version a failure rather than a silent change of subject.
  const secureContext = tls.createSecureContext({ ca: c.caPem, cert: certPem, key: keyPem, minVersion: version, maxVersion: version });
  return {
    async run(_index, worker) {
      const peer = new EapTlsEapPeer({ identity, tls: { secureContext, ...serverCheck(c) } });
      const r = await runEapOverRadius(peer, {
        host: target.host, port: target.port, secret: target.secret, userName: identity, client, framedMtu: FRAMED_MTU, callingStationId: stationId(worker),
      });
      const ok = r.outcome === 'accept' && r.peer?.kind === 'success' && r.mppeMatches;
      return ok ? { ok, rounds: r.rounds } : { ok, rounds: r.rounds, reason: `${r.outcome}: ${r.reason ?? (r.mppeMatches ? '' : 'MS-MPPE keys differ from the MSK')}` };
    },
    close: () => client.close(),
  };
}

export const eapTls12: BenchMethod = {
  name: 'eap-tls',
  title: 'EAP-TLS, TLS 1.2, client certificate (P-256)',
  reference: 'tls12',
  servers: METHOD_SERVERS['eap-tls'],
  prepare: (ctx) => prepare(ctx, 'TLSv1.2'),
};

export const eapTls13: BenchMethod = {
  name: 'eap-tls13',
  title: 'EAP-TLS, TLS 1.3 (RFC 9190), client certificate (P-256)',
  reference: 'tls13',
  servers: METHOD_SERVERS['eap-tls13'],
  prepare: (ctx) => prepare(ctx, 'TLSv1.3'),
};
