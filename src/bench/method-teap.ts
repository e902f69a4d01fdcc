/** TEAP (TLS 1.2 outer tunnel, as wpa_supplicant 2.10 uses) with inner EAP-MSCHAPv2 for a password account. */
import * as tls from 'node:tls';
import { TeapPeer } from '../peer/teap/teap-peer.js';
import { runEapOverRadius } from '../peer/radius-runner.js';
import { silentLog } from '../util/log.js';
import { FRAMED_MTU, METHOD_SERVERS, loadClient, serverCheck, stationId, type BenchMethod, type MethodDriver } from './method.js';

export const teapMschapv2: BenchMethod = {
  name: 'teap-mschapv2',
  title: 'TEAP, TLS 1.2 tunnel, inner EAP-MSCHAPv2',
  reference: 'tls12',
  servers: METHOD_SERVERS['teap-mschapv2'],
  async prepare({ credentials: c, target, roundTrips }): Promise<MethodDriver> {
    if (!c.user) throw new Error('TEAP-MSCHAPv2 needs an account (--user, --password)');
    const user = c.user;
    const client = loadClient(target, roundTrips);
    // The server is authenticated by its certificate; the person by the inner password.
    const secureContext = tls.createSecureContext({ ca: c.caPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    const log = silentLog();
    return {
      async run(_index, worker) {
        const peer = new TeapPeer({
          outerIdentity: c.teapOuterIdentity,
          user: { identity: user.name, password: user.password },
          tls: { secureContext, ...serverCheck(c) },
          log,
        });
        const r = await runEapOverRadius(peer, {
          host: target.host, port: target.port, secret: target.secret, userName: c.teapOuterIdentity, client, framedMtu: FRAMED_MTU, callingStationId: stationId(worker),
        });
        const ok = r.outcome === 'accept' && r.peer?.kind === 'success' && r.mppeMatches;
        return ok ? { ok, rounds: r.rounds } : { ok, rounds: r.rounds, reason: `${r.outcome}: ${r.reason ?? 'MS-MPPE keys differ from the MSK'}` };
      },
      close: () => client.close(),
    };
  },
};
