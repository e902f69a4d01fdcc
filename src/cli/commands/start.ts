import type { CliIo } from '../io.js';
import { defineCommand, runCommand } from '../command.js';
import { dataDirOf, hasConfig, requireDataDir } from '../data-dir.js';
import { initDataDir } from '../init.js';
import { SERVE_OPTIONS, serveDataDir } from './serve.js';

export const spec = defineCommand({
  name: 'start',
  summary: 'initialise the data directory on first run, then serve (what npm start runs)',
  synopsis: ['start [--data DIR] [--listen HOST:PORT]... [--workers N|auto] [--debug]'],
  description:
    'Without --data, the data directory is $GANGWAY_DATA, else ./var; on the first run it is created\n' +
    'as "gangway init" would (demo CA, secret, portal administrator, printed once). A directory named\n' +
    'with --data must already exist: a typo must not create a second CA and secret.',
  options: SERVE_OPTIONS,
  epilog: 'Exit status: as for "gangway serve".',
});

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values }) => {
    const dir = dataDirOf(values.data);
    if (dir.from !== '--data' && !hasConfig(dir)) {
      const created = await initDataDir(dir.path);
      io.stderr(`initialised ${dir.path} (RADIUS secret for 127.0.0.1: ${created.radius.secret}; client certificate ${created.files.clientCert})\n`);
      io.stderr(`portal ${created.portal.url}: administrator "${created.portal.admin.name}", password ${created.portal.admin.password} (shown only now)\n`);
    }
    return serveDataDir(requireDataDir(dir), { listen: values.listen, debug: values.debug, workers: values.workers }, io);
  });
}
