/**
 * PEAPv0 (TLS 1.2 tunnel) with inner EAP-MSCHAPv2 for a password account: FreeRADIUS's and
 * hostapd's password-in-tunnel method, measured next to Gangway's TEAP-MSCHAPv2. Our own peer
 * (src/peer/peap), in this process, so that the load generator costs about what the TEAP peer does.
 */
import * as tls from 'node:tls';
import { PeapPeer } from '../peer/peap/peap-peer.js';
import { runEapOverRadius } from '../peer/radius-runner.js';
import { FRAMED_MTU, METHOD_SERVERS, loadClient, serverCheck, stationId, type BenchMethod, type MethodDriver } from './method.js';

export const peapMschapv2: BenchMethod = {
  name: 'peap-mschapv2',
  title: 'PEAPv0, TLS 1.2 tunnel, inner EAP-MSCHAPv2',
  reference: 'tls12',
  servers: METHOD_SERVERS['peap-mschapv2'],
  async prepare({ credentials: c, target, roundTrips }): Promise<MethodDriver> {
    if (!c.user) throw new Error('PEAP-MSCHAPv2 needs an account (--user, --password)');
    const user = c.user;
    const client = loadClient(target, roundTrips);
    const secureContext = tls.createSecureContext({ ca: c.caPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    return {
      async run(_index, worker) {
        const peer = new PeapPeer({ outerIdentity: c.peapOuterIdentity, user: { identity: user.name, password: user.password }, tls: { secureContext, ...serverCheck(c) } });
        const r = await runEapOverRadius(peer, {
          host: target.host, port: target.port, secret: target.secret, userName: c.peapOuterIdentity, client, framedMtu: FRAMED_MTU, callingStationId: stationId(worker),
        });
        const ok = r.outcome === 'accept' && r.peer?.kind === 'success' && r.mppeMatches;
        return ok ? { ok, rounds: r.rounds } : { ok, rounds: r.rounds, reason: `${r.outcome}: ${r.reason ?? 'MS-MPPE keys differ from the MSK'}` };
      },
      close: () => client.close(),
    };
  },
};
