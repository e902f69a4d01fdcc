import { initDataDir } from '../init.js';
import type { CliIo } from '../io.js';
import { UsageError, defineCommand, integerOption, runCommand } from '../command.js';
import { DATA_OPTION, dataDirOf } from '../data-dir.js';

export const spec = defineCommand({
  name: 'init',
  summary: 'create a data directory (demo PKI, config, database)',
  synopsis: ['init [DIR] [options]'],
  description:
    'Creates DIR (default: --data, $GANGWAY_DATA, else ./var) with a demo CA, server and client\n' +
    'certificates, gangway.yaml and the database, and prints the portal administrator\'s password once.\n' +
    'Refuses a directory that already has a gangway.yaml.',
  positionals: { min: 0, max: 1 },
  options: {
    data: { ...DATA_OPTION, help: 'the directory to create (instead of DIR)' },
    'radius-host': { type: 'string', value: 'HOST', help: 'address to listen on for RADIUS (default 127.0.0.1)' },
    'radius-port': { type: 'string', value: 'PORT', help: 'RADIUS port (default 1812; 0 picks a free one)' },
    secret: { type: 'string', value: 'S', help: 'shared secret for the loopback clients (default: 16 random characters)' },
    'server-name': { type: 'string', value: 'NAME', help: 'server name for the demo certificate (default gangway.local)' },
    'accounting-port': { type: 'string', value: 'PORT', help: 'RADIUS accounting port (default: the RADIUS port + 1, 1813)' },
    'portal-port': { type: 'string', value: 'PORT', help: 'web portal port (default 8443)' },
    json: { type: 'boolean', help: 'print what was created as JSON (absolute paths), for scripts' },
  },
  epilog: 'Exit status: 0 created, 1 error, 2 usage.',
});

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values, positionals }) => {
    if (positionals[0] !== undefined && values.data !== undefined) throw new UsageError('name the directory either as DIR or with --data, not both');
    const dir = dataDirOf(positionals[0] ?? values.data);
    const port = integerOption(values['radius-port'], 'radius-port', 0, 65535);
    const portalPort = integerOption(values['portal-port'], 'portal-port', 0, 65535);
    const accountingPort = integerOption(values['accounting-port'], 'accounting-port', 0, 65535);
    if (values.secret !== undefined && values.secret.length < 8) throw new UsageError('--secret must be at least 8 characters');
    let result;
    try {
      result = await initDataDir(dir.path, {
        ...(values['radius-host'] !== undefined ? { radiusHost: values['radius-host'] } : {}),
        ...(port !== undefined ? { radiusPort: port } : {}),
        ...(values.secret !== undefined ? { secret: values.secret } : {}),
        ...(values['server-name'] !== undefined ? { serverName: values['server-name'] } : {}),
        ...(portalPort !== undefined ? { portalPort } : {}),
        ...(accountingPort !== undefined ? { accountingPort } : {}),
      });
    } catch (err) {
      io.stderr(`gangway init: ${(err as Error).message}\n`);
      return 1;
    }
    if (values.json) {
      io.stdout(JSON.stringify(result, null, 2) + '\n');
    } else {
      io.stdout(`created ${result.dataDir}\n  config   ${result.config}\n  RADIUS   ${result.radius.host}:${result.radius.port}, accounting ${result.radius.accountingPort}, secret in the config\n  demo CA  ${result.files.caCert}\n  client   ${result.files.clientCert} / ${result.files.clientKey}\n  portal   ${result.portal.url} (listening on ${result.portal.listen})\n  portal administrator "${result.portal.admin.name}", password ${result.portal.admin.password}\n           (shown only now; the portal password is not a network credential)\n`);
    }
    return 0;
  });
}
