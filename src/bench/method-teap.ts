/** TEAP (TLS 1.2 outer tunnel, as wpa_supplicant 2.10 uses) with inner EAP-MSCHAPv2 for a password account. */
import * as tls from 'node:tls';
import { TeapPeer } from '../peer/teap/teap-peer.js';
import { runEapOverRadius } from '../peer/radius-runner.js';
import { silentLog } from '../util/log.js';
import { FRAMED_MTU, loadClient, stationId, type BenchMethod, type MethodDriver } from './method.js';

export const teapMschapv2: BenchMethod = {
  name: 'teap-mschapv2',
  title: 'TEAP, TLS 1.2 tunnel, inner EAP-MSCHAPv2',
  reference: 'tls12',
  onHostapd: true,
  async prepare({ fixture, target }): Promise<MethodDriver> {
    const client = loadClient(target);
    // The server is authenticated by its certificate; the person by the inner password.
    const secureContext = tls.createSecureContext({ ca: fixture.pem.ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    const log = silentLog();
    return {
      async run(_index, worker) {
        const peer = new TeapPeer({
          outerIdentity: fixture.teapOuterIdentity,
          user: { identity: fixture.teapUser.name, password: fixture.teapUser.password },
          tls: { secureContext, servername: fixture.serverName },
          log,
        });
        const r = await runEapOverRadius(peer, {
          host: target.host, port: target.port, secret: target.secret, userName: fixture.teapOuterIdentity, client, framedMtu: FRAMED_MTU, callingStationId: stationId(worker),
        });
        const ok = r.outcome === 'accept' && r.peer?.kind === 'success' && r.mppeMatches;
        return ok ? { ok, rounds: r.rounds } : { ok, rounds: r.rounds, reason: `${r.outcome}: ${r.reason ?? 'MS-MPPE keys differ from the MSK'}` };
      },
      close: () => client.close(),
    };
  },
};
