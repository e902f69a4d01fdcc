import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../config/config-error.js';
import { parseListen } from '../../config/config.js';
import {
  type MasaConfig, OwnershipPolicy, initMasaDir, issueIdevid, loadMasaConfig, masaPaths, runMasa, IdevidRegistry,
} from '../../masa/index.js';
import { createLog } from '../../util/log.js';
import type { CliIo } from '../io.js';
import { UsageError as CommandUsageError, defineCommand, runCommand } from '../command.js';

const USAGE = `usage: gangway masa --data DIR [--listen HOST:PORT] [--name NAME] [--manufacturer NAME]
           run the reference MASA over HTTPS (default 127.0.0.1:9443); the first run creates DIR:
           manufacturer CA, voucher-signing and TLS certificates, masa.yaml
       gangway masa issue-idevid --data DIR --serial SN --out OUTDIR [--masa-url URL] [--cn NAME] [--json]
           issue a pledge's IDevID; OUTDIR gets idevid.pem, idevid.key, manufacturer-ca.pem
           (voucher anchor, the registrar's IDevID CA) and masa-ca.pem (the MASA's TLS anchor)
       gangway masa list --data DIR [--json]
           the IDevIDs issued and who claimed them
       gangway masa release-claim --data DIR --serial SN
           forget a serial's first claim, so that another registrar domain may claim it

  --name NAME   (first run) DNS name of the MASA for its TLS certificate and the MASA URL in IDevIDs
Exit status: 0 done, 1 refused or failed (the reason is printed), 2 usage, 78 configuration error.
`;

/** The union of every subcommand's options: --help lists them, and an option none knows is a usage error. */
export const spec = defineCommand({
  name: 'masa',
  summary: 'reference MASA (BRSKI voucher service) and IDevID issuer for TEAP-BRSKI tests and labs',
  synopsis: [
    'masa --data DIR [--listen HOST:PORT] [--name NAME] [--manufacturer NAME]',
    'masa issue-idevid --data DIR --serial SN --out OUTDIR [--masa-url URL] [--cn NAME] [--json]',
    'masa list --data DIR [--json]',
    'masa release-claim --data DIR --serial SN',
  ],
  description: USAGE.slice(USAGE.indexOf('\n') + 1).split('\n').filter((l) => !l.startsWith('       gangway') && !l.startsWith('Exit status')).join('\n').trim(),
  options: {
    data: { type: 'string', value: 'DIR', help: 'the MASA\'s data directory (created on first run)' },
    listen: { type: 'string', value: 'HOST:PORT', help: 'serve here (default 127.0.0.1:9443)' },
    name: { type: 'string', value: 'NAME', help: '(first run) DNS name of the MASA for its TLS certificate and MASA URL' },
    manufacturer: { type: 'string', value: 'NAME', help: '(first run) the manufacturer\'s name' },
    serial: { type: 'string', value: 'SN', help: 'issue-idevid, release-claim: the pledge\'s serial-number' },
    out: { type: 'string', value: 'OUTDIR', help: 'issue-idevid: where idevid.pem, idevid.key, manufacturer-ca.pem, masa-ca.pem go' },
    'masa-url': { type: 'string', value: 'URL', help: 'issue-idevid: the id-pe-masa-url to write (default: this MASA\'s)' },
    cn: { type: 'string', value: 'NAME', help: 'issue-idevid: the IDevID\'s common name' },
    json: { type: 'boolean', help: 'machine-readable output' },
  },
  positionals: { min: 0, max: 1 },
  epilog: 'Exit status: 0 done, 1 refused or failed (the reason is printed), 2 usage, 78 configuration error.',
});

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ positionals }) => {
    const sub = positionals[0];
    const rest = argv.filter((a) => a !== sub);
    try {
      if (sub === 'issue-idevid') return await issue(rest, io);
      if (sub === 'list') return list(rest, io);
      if (sub === 'release-claim') return release(rest, io);
      if (sub !== undefined) throw new CommandUsageError(`unknown subcommand "${sub}"`);
      return await serve(argv, io);
    } catch (err) {
      if (err instanceof UsageError) throw new CommandUsageError(err.message);
      throw err;
    }
  });
}

class UsageError extends Error {}

/** parseArgs, its complaints as usage errors. */
function parsing<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The data directory's configuration; a directory never initialised is initialised first. */
async function configOf(dataDir: string, io: CliIo, init: { listen?: string; name?: string; manufacturer?: string } = {}): Promise<MasaConfig> {
  if (!existsSync(masaPaths(dataDir).config)) {
    const made = await initMasaDir(dataDir, init);
    io.stderr(`initialised ${made.paths.dir} (manufacturer CA ${made.paths.manufacturerCaCert}; MASA URL ${made.masaUrl ?? 'unknown until configured'})\n`);
  }
  return loadMasaConfig(dataDir);
}

async function serve(argv: string[], io: CliIo): Promise<number> {
  const { values } = parsing(() => parseArgs({ args: argv, options: {
    data: { type: 'string' },
    listen: { type: 'string' },
    name: { type: 'string' },
    manufacturer: { type: 'string' },
  } }));
  if (!values.data) throw new UsageError('--data is required');
  const dataDir = resolve(values.data);
  const config = await configOf(dataDir, io, {
    ...(values.listen !== undefined ? { listen: values.listen } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.manufacturer !== undefined ? { manufacturer: values.manufacturer } : {}),
  });
  if (values.listen !== undefined) config.listen = parseListen(values.listen, '--listen');
  const log = createLog(process.env.GANGWAY_LOG_LEVEL ?? config.logLevel).child({ component: 'masa' });
  const running = await runMasa(config, log);
  io.stderr(`masa: listening on ${running.url} (data ${dataDir})\n`);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'MASA shutting down');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      running.close().then(resolveStop, (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'MASA: error during shutdown');
        resolveStop();
      });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  return 0;
}

async function issue(argv: string[], io: CliIo): Promise<number> {
  const { values } = parsing(() => parseArgs({ args: argv, options: {
    data: { type: 'string' },
    serial: { type: 'string' },
    out: { type: 'string' },
    'masa-url': { type: 'string' },
    cn: { type: 'string' },
    json: { type: 'boolean', default: false },
  } }));
  if (!values.data || !values.serial || !values.out) throw new UsageError('--data, --serial and --out are required');
  const config = await configOf(resolve(values.data), io);
  let result;
  try {
    result = await issueIdevid(config, {
      serialNumber: values.serial,
      outDir: values.out,
      ...(values['masa-url'] !== undefined ? { masaUrl: values['masa-url'] } : {}),
      ...(values.cn !== undefined ? { commonName: values.cn } : {}),
    });
  } catch (err) {
    io.stderr(`issue-idevid: ${(err as Error).message}\n`);
    return 1;
  }
  const log = createLog(process.env.GANGWAY_LOG_LEVEL ?? config.logLevel, process.stderr).child({ component: 'masa' });
  log.info(
    { serialNumber: result.issued.serialNumber, certificateSerial: result.issued.certificateSerial, subject: result.issued.subject, masaUrl: result.issued.masaUrl },
    'MASA: IDevID issued',
  );
  if (values.json) {
    io.stdout(`${JSON.stringify({ ...result.issued, files: result.files }, null, 2)}\n`);
  } else {
    io.stdout(
      `IDevID for serial-number ${result.issued.serialNumber} (MASA URL ${result.issued.masaUrl})\n` +
        `  certificate        ${result.files.idevid}\n  private key        ${result.files.key}\n` +
        `  manufacturer CA    ${result.files.manufacturerCa}   (pledge's voucher anchor; registrar's IDevID CA)\n` +
        `  MASA TLS anchor    ${result.files.masaCa}   (registrar's MASA client)\n`,
    );
  }
  return 0;
}

function list(argv: string[], io: CliIo): number {
  const { values } = parsing(() => parseArgs({ args: argv, options: { data: { type: 'string' }, json: { type: 'boolean', default: false } } }));
  if (!values.data) throw new UsageError('--data is required');
  const config = loadMasaConfig(resolve(values.data));
  const registry = new IdevidRegistry(config.paths.idevids);
  const ownership = new OwnershipPolicy(config.ownership.mode, config.ownership.domains, config.paths.claims);
  const rows = registry.all().map((r) => {
    const claim = ownership.claimOf(r.serialNumber);
    return {
      serialNumber: r.serialNumber,
      issuedAt: r.issuedAt,
      masaUrl: r.masaUrl,
      claimedBy: claim ? { registrar: claim.registrar, domain: claim.domain, at: claim.claimedAt, ownerSpkiSha256: claim.ownerSpkiSha256 } : null,
    };
  });
  if (values.json) io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  else for (const r of rows) io.stdout(`${r.serialNumber}\tissued ${r.issuedAt}\t${r.claimedBy ? `claimed by ${r.claimedBy.domain ?? r.claimedBy.registrar} on ${r.claimedBy.at}` : 'unclaimed'}\n`);
  return 0;
}

function release(argv: string[], io: CliIo): number {
  const { values } = parsing(() => parseArgs({ args: argv, options: { data: { type: 'string' }, serial: { type: 'string' } } }));
  if (!values.data || !values.serial) throw new UsageError('--data and --serial are required');
  const config = loadMasaConfig(resolve(values.data));
  const ownership = new OwnershipPolicy(config.ownership.mode, config.ownership.domains, config.paths.claims);
  if (!ownership.release(values.serial, 'gangway masa release-claim')) {
    io.stderr(`serial-number ${values.serial} has no claim\n`);
    return 1;
  }
  io.stdout(`released the claim on ${values.serial}\n`);
  return 0;
}
