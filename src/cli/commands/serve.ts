import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_FILE, loadConfig, parseListen } from '../../config/config.js';
import { ConfigError } from '../../config/config-error.js';
import { startGangway } from '../../server.js';
import { createLog } from '../../util/log.js';
import { initDataDir } from '../init.js';
import { installCrashPolicy } from '../crash-policy.js';
import type { CliIo } from '../io.js';

const USAGE = 'usage: gangway serve --data DIR [--listen HOST:PORT]...\n';

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, listen: { type: 'string', multiple: true } },
  });
  if (!values.data) {
    io.stderr(USAGE);
    return 2;
  }
  return serve(resolve(values.data), values.listen ?? [], io);
}

/** `npm start`: a first run creates ./var with demo PKI, then serves on 127.0.0.1:1812. */
export async function runStart(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string', default: 'var' } } });
  const dir = resolve(values.data ?? 'var');
  if (!existsSync(join(dir, CONFIG_FILE))) {
    const created = await initDataDir(dir);
    io.stderr(`initialised ${dir} (RADIUS secret for 127.0.0.1: ${created.radius.secret}; client certificate ${created.files.clientCert})\n`);
    io.stderr(`portal ${created.portal.url}: administrator "${created.portal.admin.name}", password ${created.portal.admin.password} (shown only now)\n`);
  }
  return serve(dir, [], io);
}

async function serve(dataDir: string, listen: string[], io: CliIo): Promise<number> {
  let config;
  try {
    config = loadConfig(dataDir);
    if (listen.length > 0) config.listen = listen.map((l, i) => parseListen(l, `--listen[${i}]`));
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const log = createLog(process.env.GANGWAY_LOG_LEVEL ?? config.log.level);
  installCrashPolicy(log);
  let running;
  try {
    running = await startGangway(config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 78;
    }
    log.error({ err }, 'gangway failed to start');
    return 1;
  }
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      running.close().then(resolveStop, (err: unknown) => {
        log.error({ err }, 'error during shutdown');
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
