import { parseArgs } from 'node:util';
import { initDataDir } from '../init.js';
import type { CliIo } from '../io.js';

const USAGE = 'usage: gangway init DIR [--radius-host HOST] [--radius-port P] [--secret S] [--server-name NAME] [--portal-port P] [--json]\n';

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'radius-host': { type: 'string' },
      'radius-port': { type: 'string' },
      secret: { type: 'string' },
      'server-name': { type: 'string' },
      'portal-port': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    io.stderr(USAGE);
    return 2;
  }
  const port = values['radius-port'] !== undefined ? Number(values['radius-port']) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    io.stderr(`--radius-port must be 0..65535\n${USAGE}`);
    return 2;
  }
  const portalPort = values['portal-port'] !== undefined ? Number(values['portal-port']) : undefined;
  if (portalPort !== undefined && (!Number.isInteger(portalPort) || portalPort < 0 || portalPort > 65535)) {
    io.stderr(`--portal-port must be 0..65535\n${USAGE}`);
    return 2;
  }
  if (values.secret !== undefined && values.secret.length < 8) {
    io.stderr('--secret must be at least 8 characters\n');
    return 2;
  }
  const result = await initDataDir(dir, {
    ...(values['radius-host'] !== undefined ? { radiusHost: values['radius-host'] } : {}),
    ...(port !== undefined ? { radiusPort: port } : {}),
    ...(values.secret !== undefined ? { secret: values.secret } : {}),
    ...(values['server-name'] !== undefined ? { serverName: values['server-name'] } : {}),
    ...(portalPort !== undefined ? { portalPort } : {}),
  });
  if (values.json) {
    io.stdout(JSON.stringify(result, null, 2) + '\n');
  } else {
    io.stdout(`created ${result.dataDir}\n  config   ${result.config}\n  RADIUS   ${result.radius.host}:${result.radius.port} secret in the config\n  demo CA  ${result.files.caCert}\n  client   ${result.files.clientCert} / ${result.files.clientKey}\n  portal   ${result.portal.url} (listening on ${result.portal.listen})\n  portal administrator "${result.portal.admin.name}", password ${result.portal.admin.password}\n           (shown only now; the portal password is not a network credential)\n`);
  }
  return 0;
}
