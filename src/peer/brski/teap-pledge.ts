import { X509Certificate } from 'node:crypto';
import type * as tls from 'node:tls';
import { TeapPeer, type TeapPeerConfig } from '../teap/teap-peer.js';
import { runTeapOverRadius, type TeapRadiusOptions, type TeapRadiusResult } from '../teap/radius-runner.js';
import { BrskiPledge, type PledgeOptions } from './pledge.js';

/** The default outer identity: teap-bootstrap@ with a realm nobody owns (teap-brski.md §3.1: TBD1). */
export const DEFAULT_BOOTSTRAP_IDENTITY = 'teap-bootstrap@brski.invalid';

export interface TeapPledgeConfig extends PledgeOptions {
  outerIdentity?: string;
  /** Highest TLS version; default TLSv1.2 (what our TEAP server offers by default). */
  maxVersion?: tls.SecureVersion;
  fragmentSize?: number;
  /** Test hooks on Phase-2 TLVs (see TeapPeerConfig.phase2Interceptor); never set in normal use. */
  phase2Interceptor?: TeapPeerConfig['phase2Interceptor'];
}

/**
 * A TEAP peer that is a pledge: the IDevID as Phase-1 client certificate, no validation of the
 * server's certificate during the handshake (a pledge has no anchor for it yet; the voucher's pin
 * judges it in Phase 2), and the BRSKI pledge as its Phase-2 TLV handler.
 */
export function createTeapPledge(config: TeapPledgeConfig): { peer: TeapPeer; pledge: BrskiPledge } {
  const pledge = new BrskiPledge(config);
  const c = config.credentials;
  const pem = [c.idevid, ...c.intermediates].map((d) => new X509Certificate(d).toString()).join('');
  const peer = new TeapPeer({
    outerIdentity: config.outerIdentity ?? DEFAULT_BOOTSTRAP_IDENTITY,
    tls: {
      cert: pem,
      key: c.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      // Deferred server validation (RFC 9930 allows it for onboarding): the handshake still checks
      // the server's signatures; the certificate itself is judged against the voucher's pin.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      maxVersion: config.maxVersion ?? 'TLSv1.2',
    },
    tlvHandler: pledge.handlerFor,
    ...(config.fragmentSize !== undefined ? { fragmentSize: config.fragmentSize } : {}),
    ...(config.phase2Interceptor ? { phase2Interceptor: config.phase2Interceptor } : {}),
    ...(config.log ? { log: config.log } : {}),
  });
  return { peer, pledge };
}

export interface PledgeRadiusResult {
  radius: TeapRadiusResult;
  pledge: BrskiPledge;
  /** Access-Accept with the MS-MPPE keys our MSK predicts, and an LDevID in hand. */
  enrolled: boolean;
}

/** Runs TEAP-BRSKI over RADIUS as a NAS would carry it. */
export async function runPledgeOverRadius(config: TeapPledgeConfig, radius: Omit<TeapRadiusOptions, 'userName'> & { userName?: string }): Promise<PledgeRadiusResult> {
  const { peer, pledge } = createTeapPledge(config);
  const r = await runTeapOverRadius(peer, { ...radius, userName: radius.userName ?? config.outerIdentity ?? DEFAULT_BOOTSTRAP_IDENTITY });
  return { radius: r, pledge, enrolled: r.outcome === 'accept' && r.peer?.kind === 'success' && r.mppeMatches && pledge.enrollment !== undefined };
}
