import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CredentialsError, IDEVID_FILES, loadPledgeCredentials, type PledgeCredentials } from '../../peer/brski/credentials.js';
import { writeLdevid, type WrittenLdevid } from '../../peer/brski/ldevid-files.js';
import { DEFAULT_BOOTSTRAP_IDENTITY, runPledgeOverRadius } from '../../peer/brski/teap-pledge.js';
import { teapErrorName } from '../../teap-brski/teap/errors.js';
import { createLog } from '../../util/log.js';
import type { CliIo } from '../io.js';
import { parseServer } from '../server-address.js';
import { HttpsPledge } from '../../peer/brski/https-pledge.js';

const USAGE = `usage: gangway pledge --idevid DIR --server HOST:PORT --secret S [options]
       gangway pledge --idevid DIR --https https://REGISTRAR:PORT [options]

Runs TEAP-BRSKI as a pledge over RADIUS: the IDevID in the tunnel, a voucher from the registrar's
MASA, then an LDevID for a new key. With --https, the same enrolment over BRSKI/EST (RFC 8995 §5,
RFC 7030) with the IDevID as TLS client certificate, for wired pledges.

  --idevid DIR             holds ${IDEVID_FILES.certificate}, ${IDEVID_FILES.key} and ${IDEVID_FILES.manufacturerCa}
  --out DIR                where ldevid.pem, ldevid.key (0600) and ca.pem go (default: the --idevid DIR)
  --outer-identity ID      outer EAP identity (default ${DEFAULT_BOOTSTRAP_IDENTITY})
  --no-clock               the device has no trusted clock: validity periods are not checked
  --accept-nonceless       accept a nonceless voucher (RFC 8995 §7.2 reduced security, for offline sites)
  --tls13                  allow TLS 1.3 (default: TLS 1.2 only)
  --framed-mtu N           Framed-MTU in Access-Requests (default 1400)
  --json                   machine-readable result
  --debug                  log the conversation to stderr
Exit status: 0 enrolled (Access-Accept, LDevID written), 1 rejected or refused, 2 usage, 3 error.
`;

/** `gangway pledge`: enrol once with TEAP-BRSKI over RADIUS and write the LDevID. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        idevid: { type: 'string' },
        server: { type: 'string' },
        https: { type: 'string' },
        secret: { type: 'string' },
        out: { type: 'string' },
        'outer-identity': { type: 'string' },
        'no-clock': { type: 'boolean', default: false },
        'accept-nonceless': { type: 'boolean', default: false },
        tls13: { type: 'boolean', default: false },
        'framed-mtu': { type: 'string' },
        json: { type: 'boolean', default: false },
        debug: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.https !== undefined) return runHttps(v as HttpsValues, io);
  const server = v.server ? parseServer(v.server) : undefined;
  if (!server || !v.secret || !v.idevid) {
    io.stderr(USAGE);
    return 2;
  }
  const framedMtu = v['framed-mtu'] !== undefined ? Number(v['framed-mtu']) : undefined;
  if (framedMtu !== undefined && !(Number.isInteger(framedMtu) && framedMtu >= 64 && framedMtu <= 4096)) {
    io.stderr('--framed-mtu must be 64..4096\n');
    return 2;
  }
  const credentials = loadCredentials(v.idevid, io);
  if (!credentials) return 2;
  const outerIdentity = v['outer-identity'] ?? DEFAULT_BOOTSTRAP_IDENTITY;
  const log = v.debug ? createLog('debug', process.stderr) : undefined;

  const r = await runPledgeOverRadius(
    {
      credentials,
      outerIdentity,
      maxVersion: v.tls13 ? 'TLSv1.3' : 'TLSv1.2',
      ...(v['no-clock'] ? { clock: () => 'ignore-time' as const } : {}),
      ...(v['accept-nonceless'] ? { acceptNonceless: true } : {}),
      ...(log ? { log } : {}),
    },
    { host: server.host, port: server.port, secret: v.secret, userName: outerIdentity, ...(framedMtu !== undefined ? { framedMtu } : {}), ...(log ? { log } : {}) },
  );

  let files: WrittenLdevid | undefined;
  let writeError: string | undefined;
  const e = r.pledge.enrollment;
  // Only a conversation that ended in Access-Accept installs anything.
  if (r.enrolled && e) {
    try {
      files = writeLdevid(v.out ?? v.idevid, e);
    } catch (err) {
      writeError = `cannot write the LDevID: ${(err as Error).message}`;
    }
  }
  const failure = r.pledge.failure;
  const ldevid = e ? new X509Certificate(e.ldevid) : undefined;
  const report = {
    outcome: r.radius.outcome,
    ok: r.enrolled && files !== undefined,
    rounds: r.radius.rounds,
    serialNumber: credentials.serialNumber,
    ...(r.radius.reason ? { reason: r.radius.reason } : {}),
    ...(failure ? { pledgeError: `${teapErrorName(failure.code)}: ${failure.reason}` } : {}),
    ...(writeError ? { writeError } : {}),
    mppeKeysMatch: r.radius.mppeMatches,
    ...(e ? { voucher: { assertion: e.voucher.assertion ?? null, pin: e.voucher.pin } } : {}),
    ...(ldevid && files ? { ldevid: { subject: ldevid.subject.replace(/\n/g, ', '), serial: ldevid.serialNumber, notAfter: new Date(ldevid.validTo).toISOString(), files } } : {}),
    ...(e?.nai !== undefined ? { nai: e.nai } : {}),
  };
  if (v.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(Object.entries(report).map(([k, val]) => `${k}: ${typeof val === 'object' && val !== null ? JSON.stringify(val) : val}`).join('\n') + '\n');
  if (report.ok) return 0;
  return r.radius.outcome === 'error' || writeError ? 3 : 1;
}

interface HttpsValues {
  idevid?: string;
  https: string;
  out?: string;
  'no-clock'?: boolean;
  json?: boolean;
  debug?: boolean;
}

/** `gangway pledge --https URL`: the enrolment over BRSKI/EST instead of TEAP. */
async function runHttps(v: HttpsValues, io: CliIo): Promise<number> {
  if (!v.idevid || !/^https:\/\/[^/]+/.test(v.https)) {
    io.stderr(`--https needs an https:// URL and --idevid\n${USAGE}`);
    return 2;
  }
  const credentials = loadCredentials(v.idevid, io);
  if (!credentials) return 2;
  const log = v.debug ? createLog('debug', process.stderr) : undefined;
  const pledge = new HttpsPledge({
    credentials,
    url: v.https,
    ...(v['no-clock'] ? { clock: () => 'ignore-time' as const } : {}),
    ...(log ? { log } : {}),
  });
  const r = await pledge.enroll();
  let files: WrittenLdevid | undefined;
  let writeError: string | undefined;
  if (r.ok) {
    try {
      files = writeLdevid(v.out ?? v.idevid, r.enrollment);
    } catch (err) {
      writeError = `cannot write the LDevID: ${(err as Error).message}`;
    }
  }
  const ldevid = r.ok ? new X509Certificate(r.enrollment.ldevid) : undefined;
  const report = {
    transport: 'https',
    ok: r.ok && files !== undefined,
    serialNumber: credentials.serialNumber,
    ...(r.ok ? { voucher: { assertion: r.enrollment.voucher.assertion ?? null, pin: r.enrollment.voucher.pin } } : { stage: r.stage, reason: r.reason, ...(r.status !== undefined ? { status: r.status } : {}) }),
    ...(writeError ? { writeError } : {}),
    ...(ldevid && files ? { ldevid: { subject: ldevid.subject.replace(/\n/g, ', '), serial: ldevid.serialNumber, notAfter: new Date(ldevid.validTo).toISOString(), files } } : {}),
  };
  if (v.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(Object.entries(report).map(([k, val]) => `${k}: ${typeof val === 'object' && val !== null ? JSON.stringify(val) : val}`).join('\n') + '\n');
  if (report.ok) return 0;
  return !r.ok && r.stage === 'transport' ? 3 : writeError ? 3 : 1;
}

function loadCredentials(dir: string, io: CliIo): PledgeCredentials | undefined {
  try {
    return loadPledgeCredentials(dir);
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    io.stderr(`${err.message}\n`);
    return undefined;
  }
}
