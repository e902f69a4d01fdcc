/**
 * The bench's EAP-TLS driver with the demo client certificate `gangway init` wrote into a data
 * directory: one authentication per `run`, against a `gangway serve` a test started on that directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eapTls12 } from '../../src/bench/method-eap-tls.js';
import type { MethodDriver } from '../../src/bench/method.js';

export function demoEapTlsDriver(data: string, port: number, secret: string, tail: () => string): Promise<MethodDriver> {
  return eapTls12.prepare({
    target: { kind: 'gangway', host: '127.0.0.1', port, secret, version: 'under test', stop: async () => undefined, tail },
    credentials: {
      caPem: readFileSync(join(data, 'pki', 'ca.pem')),
      serverName: 'gangway.local',
      tls: { certPem: readFileSync(join(data, 'pki', 'client.pem')), keyPem: readFileSync(join(data, 'pki', 'client.key')), identity: 'demo-client' },
      teapOuterIdentity: 'anonymous', peapOuterIdentity: 'anonymous',
    },
    concurrency: 1,
  });
}
