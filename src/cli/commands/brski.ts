import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CONFIG_FILE, loadConfig } from '../../config/config.js';
import { parseBrskiConfig } from '../../teap-brski/brski/config.js';
import { setupBrski } from '../../teap-brski/brski/setup.js';
import { RegistrarError } from '../../teap-brski/brski/registrar.js';
import { SignedVoucherCms } from '../../teap-brski/brski/voucher/index.js';
import { createLog } from '../../util/log.js';
import { REVOCATION_REASONS, type RevocationReason } from '../../store/issued-certificates.js';
import { revokeWithReissues } from '../../pki/ca/revoke-with-reissues.js';
import type { BrskiDeviceStatus } from '../../store/brski-devices.js';
import { DATA_OPTION, dataDirOf, openConfiguredStores, requireDataDir } from '../data-dir.js';
import { UsageError, defineCommand, runCommand, type OptionValues } from '../command.js';
import { canonicalSerialHex } from '../../pki/ca/serial.js';
import type { CliIo } from '../io.js';

export const spec = defineCommand({
  name: 'brski',
  summary: 'TEAP-BRSKI registrar: approve or deny pledges, list or revoke issued LDevIDs, prefetch vouchers',
  synopsis: [
    'brski devices [--data DIR] [--pending] [--json]',
    'brski approve MANUFACTURER SERIAL [--data DIR] [--by NAME]',
    'brski deny MANUFACTURER SERIAL [--data DIR] [--by NAME]',
    'brski certificates [--data DIR] [--device ID] [--json]',
    'brski revoke SERIAL_HEX [--data DIR] [--reason REASON] [--by NAME]',
    'brski prefetch MANUFACTURER SERIAL [--data DIR]',
  ],
  description:
    'The TEAP-BRSKI registrar\'s records (docs/teap-brski.md):\n' +
    '  devices       pledges seen or pre-approved, by manufacturer and serial-number\n' +
    '  approve/deny  an administrator\'s decision; approving a serial never seen pre-approves it;\n' +
    '                a denied device is refused from its next authentication, whichever certificate\n' +
    '                it shows (IDevID or LDevID), until approved again (the portal also ends its session)\n' +
    '  certificates  LDevIDs our CA issued (newest first)\n' +
    '  revoke        marks an LDevID revoked: EAP-TLS and TEAP refuse it from the next authentication;\n' +
    '                for keyCompromise also the LDevIDs its key obtained by re-enrolment\n' +
    '  prefetch      asks the MASA now for a nonceless voucher, kept for when it is unreachable\n' +
    '                (manufacturers with whenMasaUnavailable: nonceless)',
  options: {
    data: DATA_OPTION,
    pending: { type: 'boolean', help: 'devices: only those awaiting approval' },
    json: { type: 'boolean', help: 'machine-readable output' },
    by: { type: 'string', value: 'NAME', help: 'who decided, for the audit log (default: $USER)' },
    device: { type: 'string', value: 'ID', help: 'certificates: only this device id (manufacturer:serial)' },
    reason: { type: 'string', value: 'REASON', help: `revoke: ${REVOCATION_REASONS.join(', ')} (default unspecified)` },
  },
  positionals: { min: 1, max: 3 },
  epilog: 'Exit status: 0 done, 1 refused (the reason is printed), 2 usage, 78 no data directory.',
});

/** `gangway brski …`: approvals and issued certificates of the registrar. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values, positionals }) => {
    const [sub, ...args] = positionals;
    const arity: Record<string, number> = { devices: 0, approve: 2, deny: 2, certificates: 0, revoke: 1, prefetch: 2 };
    if (sub === undefined || arity[sub] === undefined) throw new UsageError(`unknown subcommand "${sub ?? ''}"`);
    if (args.length !== arity[sub]) throw new UsageError(`${sub} takes ${arity[sub]} argument(s)`);
    const dir = requireDataDir(dataDirOf(values.data)).path;
    return body(sub, args, values, dir, io);
  });
}

async function body(sub: string, args: string[], values: OptionValues<typeof spec.options>, dir: string, io: CliIo): Promise<number> {
  const by = values.by ?? process.env.USER ?? 'admin';
  if (sub === 'prefetch') return prefetch(dir, args[0]!, args[1]!, io);
  const stores = await openConfiguredStores(loadConfig(dir));
  try {
    const { brskiDevices: devices, audit, issuedCertificates: certs } = stores;
    switch (sub) {
      case 'devices': {
        const list = await devices.list(values.pending ? { status: 'pending' } : {});
        if (values.json) io.stdout(`${JSON.stringify(list)}\n`);
        else if (list.length === 0) io.stdout(values.pending ? 'no pledge awaits approval\n' : 'no pledge recorded\n');
        else for (const d of list) io.stdout(`${d.manufacturer}\t${d.serialNumber}\t${d.status}\tlast seen ${d.lastSeen?.toISOString() ?? '-'}${d.ldevidSerial ? `\tLDevID ${d.ldevidSerial}` : ''}\n`);
        return 0;
      }
      case 'approve':
      case 'deny': {
        const [manufacturer, serial] = args as [string, string];
        const status: BrskiDeviceStatus = sub === 'approve' ? 'approved' : 'denied';
        await devices.decide(manufacturer, serial, status, by, new Date());
        audit.append({ at: new Date(), event: `brski.device.${status}`, subject: `${manufacturer}:${serial}`, detail: { by } });
        io.stdout(`${manufacturer}:${serial} ${status}\n`);
        return 0;
      }
      case 'certificates': {
        const list = values.device ? await certs.listByDevice(values.device) : await certs.list(200);
        const rows = list.map((c) => ({
          serial: c.serial, deviceId: c.deviceId, subject: c.subject, notAfter: c.notAfter.toISOString(),
          ...(c.reissuedFrom ? { reissuedFrom: c.reissuedFrom } : {}),
          ...(c.revokedAt ? { revokedAt: c.revokedAt.toISOString(), reason: c.revocationReason } : {}),
        }));
        if (values.json) io.stdout(`${JSON.stringify(rows)}\n`);
        else if (rows.length === 0) io.stdout('no certificate issued\n');
        else for (const r of rows) io.stdout(`${r.serial}\t${r.deviceId}\tuntil ${r.notAfter}${r.reissuedFrom ? `\tre-enrolled with ${r.reissuedFrom}` : ''}${r.revokedAt ? `\tREVOKED ${r.revokedAt} (${r.reason})` : ''}\n`);
        return 0;
      }
      case 'revoke': {
        const reason = (values.reason ?? 'unspecified') as RevocationReason;
        if (!REVOCATION_REASONS.includes(reason)) {
          io.stderr(`--reason must be one of ${REVOCATION_REASONS.join(', ')}\n`);
          return 2;
        }
        let serial: string;
        try {
          serial = canonicalSerialHex(args[0]!);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        const at = new Date();
        // Audited and printed as each is made: a failure half-way leaves none unrecorded.
        const revoked = await revokeWithReissues(certs, serial, at, reason, (r) => {
          audit.append({ at, event: 'ca.ldevid.revoked', subject: r.serial, detail: { by, reason, device: r.deviceId, ...(r.reissuedFrom ? { reissuedFrom: r.reissuedFrom } : {}) } });
          io.stdout(`${r.serial} revoked (${reason})${r.reissuedFrom ? `: re-enrolled with ${r.reissuedFrom}'s key` : ''}\n`);
        });
        if (revoked.length === 0) {
          io.stderr(`no unrevoked certificate with serial ${serial}\n`);
          return 1;
        }
        return 0;
      }
    }
    return 2;
  } finally {
    await stores.close();
  }
}

async function prefetch(dir: string, manufacturer: string, serial: string, io: CliIo): Promise<number> {
  const config = loadConfig(dir);
  const brski = parseBrskiConfig(config.brski, config.dataDir);
  if (!brski) {
    io.stderr(`gangway brski: ${join(dir, CONFIG_FILE)} has no brski section\n`);
    return 2;
  }
  const stores = await openConfiguredStores(config);
  try {
    const services = await setupBrski(brski, {
      stores,
      tlsCert: readFileSync(config.tls.cert),
      tlsKey: readFileSync(config.tls.key),
      log: createLog('warn', process.stderr),
      listen: false,
    });
    try {
      const der = await services.registrar.prefetchNoncelessVoucher(manufacturer, serial);
      const v = SignedVoucherCms.decode(der).voucher();
      io.stdout(`${manufacturer}:${serial}: nonceless voucher stored, valid until ${v.expiresOn ?? '(no expiry)'}\n`);
      return 0;
    } catch (err) {
      if (err instanceof RegistrarError) {
        io.stderr(`gangway brski prefetch: ${err.failure}: ${err.message}\n`);
        return 1;
      }
      throw err;
    } finally {
      await services.close();
    }
  } finally {
    await stores.close();
  }
}
