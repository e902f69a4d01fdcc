import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { initDataDir, type InitResult } from '../../src/cli/init.js';
import { loadConfig } from '../../src/config/config.js';
import { startGangway, type RunningGangway } from '../../src/server.js';
import { MemoryLog } from './silent-log.js';
import type { TlsEngineName } from '../../src/eap-methods/tls-tunnel.js';
import { TEST_RADIUS_SECRET } from './test-secrets.js';

export interface TestGangway {
  port: number;
  secret: string;
  init: InitResult;
  running: RunningGangway;
  log: MemoryLog;
  close(): Promise<void>;
}

let nextTlsEngine: TlsEngineName | undefined;

/**
 * The TLS engine of the servers this test file starts from now on (`tls.engine` in their
 * gangway.yaml), for suites run once per engine; undefined leaves the default.
 */
export function useServerTlsEngine(engine: TlsEngineName | undefined): void {
  nextTlsEngine = engine;
}

/**
 * A real Gangway server in this process on an ephemeral loopback port, from a data directory made
 * by `gangway init` — the same path a person takes, minus the CLI.
 */
export async function startTestGangway(
  opts: {
    configure?: (doc: Record<string, unknown>) => void;
    /** Runs after `gangway init`, before the server starts: files the configuration will name. */
    prepare?: (init: InitResult) => Promise<void>;
    tlsEngine?: TlsEngineName;
    /** Threads running EAP conversations (startGangway's `workers`); default 1, in this thread. */
    workers?: number;
  } = {},
): Promise<TestGangway> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-test-'));
  const init = await initDataDir(dir, { radiusPort: 0, secret: TEST_RADIUS_SECRET, serverName: 'radius.test.example' });
  await opts.prepare?.(init);
  const tlsEngine = opts.tlsEngine ?? nextTlsEngine;
  if (opts.configure || tlsEngine) {
    const doc = parse(readFileSync(init.config, 'utf8')) as Record<string, unknown>;
    opts.configure?.(doc);
    // gangway.yaml's tls.engine, as an operator would set it.
    if (tlsEngine) doc.tls = { ...(doc.tls as object | undefined), engine: tlsEngine };
    writeFileSync(init.config, stringify(doc));
  }
  const log = new MemoryLog();
  const running = await startGangway(loadConfig(dir), log, opts.workers !== undefined ? { workers: opts.workers } : {});
  return {
    port: running.addresses[0]!.port,
    secret: init.radius.secret,
    init,
    running,
    log,
    async close() {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
