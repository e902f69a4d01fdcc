/**
 * A throw-away EC P-256 PKI (CA, server, client) made with the openssl CLI, for interop tests whose
 * peers (hostapd, eapol_test, FreeRADIUS) read PEM files.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** DNS name in the server certificate (CN and subjectAltName). */
  serverName: string;
  /** CN of the client certificate. */
  clientName: string;
}

/** Creates the PKI in `dir` (which must exist). */
export function makeOpensslPki(
  openssl: string,
  dir: string,
  names: { serverName?: string; clientName?: string } = {},
): TestPki {
  const serverName = names.serverName ?? 'radius.gangway.test';
  const clientName = names.clientName ?? 'alice@gangway.test';
  const p = (f: string): string => join(dir, f);
  const run = (args: string[]): void => {
    execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  run(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '30', '-subj', '/CN=Gangway Test CA']);

  const issue = (name: string, subject: string, ext: string): void => {
    writeFileSync(p(`${name}.ext`), ext);
    run(['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject]);
    run([
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-days', '30', '-out', p(`${name}.pem`), '-extfile', p(`${name}.ext`),
    ]);
  };
  issue(
    'server',
    `/CN=${serverName}`,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName}\n`,
  );
  issue('client', `/CN=${clientName}`, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');

  return {
    caCert: p('ca.pem'),
    caKey: p('ca.key'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    serverName,
    clientName,
  };
}
