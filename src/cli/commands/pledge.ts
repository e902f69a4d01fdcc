import { X509Certificate } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CredentialsError, IDEVID_FILES, loadPledgeCredentials, type PledgeCredentials } from '../../peer/brski/credentials.js';
import { LDEVID_FILES, writeLdevid, type WrittenLdevid } from '../../peer/brski/ldevid-files.js';
import { DEFAULT_BOOTSTRAP_IDENTITY, runPledgeOverRadius } from '../../peer/brski/teap-pledge.js';
import { teapErrorName } from '../../teap-brski/teap/errors.js';
import { createLog, type Log } from '../../util/log.js';
import type { ServerRefusal } from '../../peer/brski/server-refusal.js';
import type { CliIo } from '../io.js';
import { parseServer, resolveServer } from '../server-address.js';
import { UsageError, defineCommand, integerOption, runCommand, type OptionValues } from '../command.js';
import { firstSilenceNotice, noReplyHint } from '../no-reply-hint.js';
import { RadiusClient } from '../../radius/client.js';
import { HttpsPledge } from '../../peer/brski/https-pledge.js';
import { loadLdevidCredentials, runReenrollOverRadius, type LdevidCredentials } from '../../peer/brski/reenroll.js';
import { LdevidDirectoryLockedError, lockLdevidDirectory, removeStrayTemporaryFiles, writeRenewedLdevid, type RenewalRepair, type WrittenRenewal } from '../../peer/brski/ldevid-files.js';

/** An enrolled device's outer identity unless told otherwise. */
const DEFAULT_LDEVID_IDENTITY = 'anonymous';

/** A directory the LDevID is read from or written to; only --out is made when missing. */
interface LdevidDirectory {
  path: string;
  create: boolean;
}

/**
 * Runs `body` holding the lock of each directory the LDevID is read from or written to
 * (lockLdevidDirectory), with their real paths: two runs on one directory would otherwise
 * interleave their writes, and a repair could take the other's replacement in progress for an
 * interrupted one. Opening the lock also proves, before anything is asked of a registrar, that
 * files can be made there: a certificate issued and then lost would use up a place of the device's
 * limit. The body reads and writes the very directories locked, whatever a symbolic link points to later.
 */
async function withLockedDirectories(dirs: LdevidDirectory[], io: CliIo, body: (real: string[]) => Promise<number>): Promise<number> {
  const releases: (() => void)[] = [];
  try {
    const real: string[] = [];
    for (const dir of dirs) {
      try {
        if (dir.create) mkdirSync(dir.path, { recursive: true, mode: 0o700 });
        const path = realpathSync(dir.path);
        // One lock per directory however it is spelt (--out through a symbolic link to DIR, say).
        if (!real.includes(path)) {
          const lock = lockLdevidDirectory(path);
          releases.push(() => lock.release());
          if (lock.unlocked !== undefined) io.stderr(`warning: ${dir.path} is not locked against another run at the same time: ${lock.unlocked}\n`);
          // Under the lock no write of ours is in progress: key copies a stop left behind can go.
          removeStrayTemporaryFiles(path);
        }
        real.push(path);
      } catch (err) {
        io.stderr(`${err instanceof LdevidDirectoryLockedError ? err.message : `cannot ${dir.create ? 'write the LDevID to' : 'read'} ${dir.path}: ${(err as Error).message}`}\n`);
        return 2;
      }
    }
    return await body(real);
  } finally {
    for (const release of releases.reverse()) release();
  }
}

/** Paths written under a directory's real path, as the person typed the directory. */
function asTyped<T extends object>(files: T, real: string, typed: string): T {
  return Object.fromEntries(Object.entries(files).map(([k, p]) => [k, join(typed, relative(real, p as string))])) as T;
}

export const spec = defineCommand({
  name: 'pledge',
  summary: 'enrol a device with TEAP-BRSKI (IDevID in, voucher, LDevID out) against a RADIUS server',
  synopsis: [
    'pledge --idevid DIR --server HOST:PORT --secret S [options]',
    'pledge --idevid DIR --https https://REGISTRAR:PORT [options]',
    'pledge --ldevid DIR --server HOST:PORT --secret S [options]',
  ],
  description:
    'Runs TEAP-BRSKI as a pledge over RADIUS: the IDevID in the tunnel, a voucher from the registrar\'s\n' +
    'MASA, then an LDevID for a new key. With --https, the same enrolment over BRSKI/EST (RFC 8995 §5,\n' +
    'RFC 7030) with the IDevID as TLS client certificate, for wired pledges.\n' +
    'With --ldevid, the device is already enrolled: it authenticates over TEAP with its LDevID and, when\n' +
    'the registrar asks (policy method brski-reenroll, flow C), sends a PKCS#10 for a new key and replaces\n' +
    'its LDevID and key in DIR (the old key is kept as ldevid.key.prev until the new certificate is in place).',
  options: {
    idevid: { type: 'string', value: 'DIR', help: `holds ${IDEVID_FILES.certificate}, ${IDEVID_FILES.key} and ${IDEVID_FILES.manufacturerCa}` },
    ldevid: { type: 'string', value: 'DIR', help: `an enrolled device: holds ${LDEVID_FILES.certificate}, ${LDEVID_FILES.key} and ${LDEVID_FILES.trustAnchors} (what a pledge wrote)` },
    server: { type: 'string', value: 'HOST:PORT', help: 'RADIUS server (IP address or host name; [IPv6]:PORT)' },
    https: { type: 'string', value: 'URL', help: 'enrol over BRSKI/EST HTTPS at this registrar instead of TEAP over RADIUS' },
    secret: { type: 'string', value: 'S', help: 'the RADIUS shared secret for this client' },
    out: { type: 'string', value: 'DIR', help: 'where ldevid.pem, ldevid.key (0600), ca.pem and voucher.vcj go, made if missing (default: the --idevid or --ldevid DIR)' },
    'outer-identity': { type: 'string', value: 'ID', help: `outer EAP identity (default ${DEFAULT_BOOTSTRAP_IDENTITY}; with --ldevid, ${DEFAULT_LDEVID_IDENTITY})` },
    'no-clock': { type: 'boolean', help: 'the device has no trusted clock: validity periods are not checked' },
    'accept-nonceless': { type: 'boolean', help: 'accept a nonceless voucher (RFC 8995 §7.2 reduced security, for offline sites)' },
    tls13: { type: 'boolean', help: 'allow TLS 1.3 (default: TLS 1.2 only)' },
    'framed-mtu': { type: 'string', value: 'N', help: 'Framed-MTU in Access-Requests (default 1400)' },
    json: { type: 'boolean', help: 'machine-readable result' },
    debug: { type: 'boolean', help: 'log the conversation to stderr' },
  },
  epilog: 'Exit status: 0 enrolled (Access-Accept, LDevID written; with --ldevid: Access-Accept, and any new LDevID\n' +
    'written), 1 rejected or refused, 2 usage, or files that cannot be used before the conversation (credentials,\n' +
    '--out, a directory another run holds), 3 error (the new LDevID not written after an Access-Accept among them).',
});

/** `gangway pledge`: enrol once with TEAP-BRSKI over RADIUS and write the LDevID. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values: v }) => {
    if (v.ldevid !== undefined) {
      if (v.idevid !== undefined || v.https !== undefined) throw new UsageError('--ldevid is for an enrolled device over RADIUS: not with --idevid or --https');
      if (v['accept-nonceless']) throw new UsageError('--accept-nonceless is for enrolment (--idevid): a re-enrolment gets no voucher');
      if (!v.server || !v.secret) throw new UsageError('--ldevid needs --server and --secret');
      const parsed = parseServer(v.server);
      if (!parsed) throw new UsageError(`--server must be HOST:PORT or [IPv6]:PORT, not "${v.server}"`);
      const framedMtu = integerOption(v['framed-mtu'], 'framed-mtu', 64, 4096);
      return withLockedDirectories([{ path: v.ldevid, create: false }, { path: v.out ?? v.ldevid, create: v.out !== undefined }], io, ([dir, out]) => reconnect(v, dir!, out!, parsed, framedMtu, io));
    }
    if (v.https !== undefined) {
      if (!v.idevid || !/^https:\/\/[^/]+/.test(v.https)) throw new UsageError('--https needs an https:// URL and --idevid');
      return withLockedDirectories([{ path: v.out ?? v.idevid, create: v.out !== undefined }], io, ([out]) => runHttps(v, out!, io));
    }
    if (!v.server || !v.secret || !v.idevid) throw new UsageError('--idevid, --server and --secret are required (or --idevid and --https)');
    const parsedServer = parseServer(v.server);
    if (!parsedServer) throw new UsageError(`--server must be HOST:PORT or [IPv6]:PORT, not "${v.server}"`);
    const framedMtu = integerOption(v['framed-mtu'], 'framed-mtu', 64, 4096);
    return withLockedDirectories([{ path: v.out ?? v.idevid, create: v.out !== undefined }], io, ([out]) => enrol(v, out!, parsedServer, framedMtu, io));
  });
}

async function enrol(v: OptionValues<typeof spec.options>, out: string, parsedServer: { host: string; port: number }, framedMtu: number | undefined, io: CliIo): Promise<number> {
  const idevidDir = v.idevid!;
  let credentials: PledgeCredentials;
  try {
    credentials = loadPledgeCredentials(idevidDir);
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    io.stderr(`${err.message}\n`);
    return 2;
  }
  const outerIdentity = v['outer-identity'] ?? DEFAULT_BOOTSTRAP_IDENTITY;
  const log = v.debug ? createLog('debug', process.stderr) : undefined;

  const r = await overRadius(v, parsedServer, framedMtu, io, log, (radius) => runPledgeOverRadius(
    {
      credentials,
      outerIdentity,
      maxVersion: v.tls13 ? 'TLSv1.3' : 'TLSv1.2',
      ...(v['no-clock'] ? { clock: () => 'ignore-time' as const } : {}),
      ...(v['accept-nonceless'] ? { acceptNonceless: true } : {}),
      ...(log ? { log } : {}),
    },
    { ...radius, userName: outerIdentity },
  ));
  if (r === undefined) return 3;

  let files: WrittenLdevid | undefined;
  let writeError: string | undefined;
  const e = r.pledge.enrollment;
  // Only a conversation that ended in Access-Accept installs anything.
  if (r.enrolled && e) {
    try {
      files = asTyped(writeLdevid(out, e), out, v.out ?? v.idevid!);
    } catch (err) {
      writeError = `cannot write the LDevID: ${(err as Error).message}`;
    }
  }
  const failure = r.pledge.failure;
  const refusal = r.pledge.refusal;
  const ldevid = e ? new X509Certificate(e.ldevid) : undefined;
  const report = {
    outcome: r.radius.outcome,
    ok: r.enrolled && files !== undefined,
    rounds: r.radius.rounds,
    serialNumber: credentials.serialNumber,
    ...(r.radius.reason ? { reason: r.radius.reason } : {}),
    ...(failure ? { pledgeError: `${teapErrorName(failure.code)}: ${failure.reason}` } : {}),
    ...(refusal && refusal.errors.length > 0 ? { serverErrors: refusal.errors } : {}),
    ...(refusal?.retryAfterSeconds !== undefined ? { retryAfterSeconds: refusal.retryAfterSeconds } : {}),
    ...(writeError ? { writeError } : {}),
    mppeKeysMatch: r.radius.mppeMatches,
    ...(e ? { voucher: { assertion: e.voucher.assertion ?? null, pin: e.voucher.pin } } : {}),
    ...(ldevid && files ? { ldevid: { subject: ldevid.subject.replace(/\n/g, ', '), serial: ldevid.serialNumber, notAfter: new Date(ldevid.validTo).toISOString(), files } } : {}),
    ...(e?.nai !== undefined ? { nai: e.nai } : {}),
  };
  return finishRadiusReport(v, io, report, r.radius, refusal, writeError);
}

/**
 * `gangway pledge --ldevid DIR`: an enrolled device authenticates with its LDevID over TEAP (flow A)
 * and re-enrols when the registrar asks (flow C). Only an Access-Accept whose keys match installs
 * the new LDevID; any other ending leaves the device's files as they were.
 */
async function reconnect(v: OptionValues<typeof spec.options>, dir: string, out: string, parsedServer: { host: string; port: number }, framedMtu: number | undefined, io: CliIo): Promise<number> {
  let credentials: LdevidCredentials & { repaired?: RenewalRepair };
  try {
    credentials = loadLdevidCredentials(dir);
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    io.stderr(`${err.message}\n`);
    return 2;
  }
  // Anonymous by default, as the pledge's: the outer identity travels in the clear, and the server
  // chooses its policy by the certificate.
  const outerIdentity = v['outer-identity'] ?? DEFAULT_LDEVID_IDENTITY;
  if (credentials.repaired === 'restored-previous-key') io.stderr(`${dir}: an earlier renewal stopped before its new certificate was written; the LDevID in place and its key were restored\n`);
  const log = v.debug ? createLog('debug', process.stderr) : undefined;
  const r = await overRadius(v, parsedServer, framedMtu, io, log, (radius) => runReenrollOverRadius(
    {
      credentials,
      outerIdentity,
      maxVersion: v.tls13 ? 'TLSv1.3' : 'TLSv1.2',
      ...(v['no-clock'] ? { clock: () => 'ignore-time' as const } : {}),
      ...(log ? { log } : {}),
    },
    radius,
  ));
  if (r === undefined) return 3;
  const accepted = r.radius.outcome === 'accept' && r.radius.peer?.kind === 'success' && r.radius.mppeMatches;
  let files: WrittenRenewal | undefined;
  let writeError: string | undefined;
  if (accepted && r.result) {
    try {
      files = asTyped(writeRenewedLdevid(out, r.result), out, v.out ?? v.ldevid!);
      // Read back as the next run will: the pair must be the new one and belong together.
      const written = loadLdevidCredentials(out);
      if (!Buffer.from(written.ldevid).equals(Buffer.from(r.result.ldevid))) throw new Error(`${files.certificate} does not hold the new LDevID`);
    } catch (err) {
      writeError = `cannot write the new LDevID: ${(err as Error).message}`;
    }
  }
  const renewed = r.result && files ? new X509Certificate(r.result.ldevid) : undefined;
  const current = new X509Certificate(credentials.ldevid);
  const report = {
    outcome: r.radius.outcome,
    ok: accepted && writeError === undefined,
    rounds: r.radius.rounds,
    identity: outerIdentity,
    reenrolled: renewed !== undefined,
    ...(credentials.repaired !== undefined ? { repaired: credentials.repaired } : {}),
    ...(r.radius.reason ? { reason: r.radius.reason } : {}),
    ...(r.failure ? { deviceError: `${teapErrorName(r.failure.code)}: ${r.failure.reason}` } : {}),
    ...(r.refusal && r.refusal.errors.length > 0 ? { serverErrors: r.refusal.errors } : {}),
    ...(r.refusal?.retryAfterSeconds !== undefined ? { retryAfterSeconds: r.refusal.retryAfterSeconds } : {}),
    ...(writeError ? { writeError } : {}),
    mppeKeysMatch: r.radius.mppeMatches,
    authenticatedWith: { serial: current.serialNumber, notAfter: new Date(current.validTo).toISOString() },
    ...(renewed && files ? { ldevid: { subject: renewed.subject.replace(/\n/g, ', '), serial: renewed.serialNumber, notAfter: new Date(renewed.validTo).toISOString(), files } } : {}),
  };
  return finishRadiusReport(v, io, report, r.radius, r.refusal, writeError);
}

/** `gangway pledge --https URL`: the enrolment over BRSKI/EST instead of TEAP. */
async function runHttps(v: OptionValues<typeof spec.options>, out: string, io: CliIo): Promise<number> {
  let credentials: PledgeCredentials;
  try {
    credentials = loadPledgeCredentials(v.idevid!);
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    io.stderr(`${err.message}\n`);
    return 2;
  }
  const log = v.debug ? createLog('debug', process.stderr) : undefined;
  const pledge = new HttpsPledge({
    credentials,
    url: v.https!,
    ...(v['no-clock'] ? { clock: () => 'ignore-time' as const } : {}),
    ...(v['accept-nonceless'] ? { acceptNonceless: true } : {}),
    ...(log ? { log } : {}),
  });
  const r = await pledge.enroll();
  let files: WrittenLdevid | undefined;
  let writeError: string | undefined;
  if (r.ok) {
    try {
      files = asTyped(writeLdevid(out, r.enrollment), out, v.out ?? v.idevid!);
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
  printReport(v, io, report);
  if (report.ok) return 0;
  return !r.ok && r.stage === 'transport' ? 3 : writeError ? 3 : 1;
}

/**
 * Resolves --server and runs one exchange with a RADIUS client of its own, closed afterwards;
 * undefined, after saying why, when the server's name does not resolve.
 */
async function overRadius<T>(
  v: OptionValues<typeof spec.options>,
  parsedServer: { host: string; port: number },
  framedMtu: number | undefined,
  io: CliIo,
  log: Log | undefined,
  exchange: (radius: { host: string; port: number; secret: string; client: RadiusClient; framedMtu?: number; log?: Log }) => Promise<T>,
): Promise<T | undefined> {
  let server;
  try {
    server = await resolveServer(parsedServer);
  } catch (err) {
    io.stderr(`${(err as Error).message}\n`);
    return undefined;
  }
  const secret = v.secret!;
  const client = new RadiusClient({ host: server.host, port: server.port, secret, ...(log ? { log } : {}), onRetransmit: firstSilenceNotice(io.stderr, v.server!) });
  try {
    return await exchange({ host: server.host, port: server.port, secret, client, ...(framedMtu !== undefined ? { framedMtu } : {}), ...(log ? { log } : {}) });
  } finally {
    await client.close();
  }
}

function printReport(v: OptionValues<typeof spec.options>, io: CliIo, report: Record<string, unknown>): void {
  if (v.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else io.stdout(Object.entries(report).map(([k, val]) => `${k}: ${typeof val === 'object' && val !== null ? JSON.stringify(val) : val}`).join('\n') + '\n');
}

/** The report of a run over RADIUS, the hints on standard error, and the exit status. */
function finishRadiusReport(
  v: OptionValues<typeof spec.options>,
  io: CliIo,
  report: Record<string, unknown> & { ok: boolean },
  radius: { outcome: string; reason?: string },
  refusal: ServerRefusal | undefined,
  writeError: string | undefined,
): number {
  const hint = noReplyHint(radius.reason, v.server!);
  if (hint !== undefined) io.stderr(`${hint}\n`);
  if (refusal?.retryAfterSeconds !== undefined && refusal.retryAfterSeconds > 0) io.stderr(`The registrar asks this device to wait ${refusal.retryAfterSeconds} s (Retry-After) before it tries again.\n`);
  printReport(v, io, report);
  if (report.ok) return 0;
  return radius.outcome === 'error' || writeError ? 3 : 1;
}
