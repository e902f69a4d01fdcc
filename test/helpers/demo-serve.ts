/**
 * `gangway init` of a demo data directory and `gangway serve` on it, as an operator runs them (the
 * built CLI), for the tests of how the server starts, says what it uses and stops.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { demoEapTlsDriver } from './demo-eap-tls.js';
import { freeUdpPort, isRunning, terminate } from './proc.js';

const main = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/** A demo data directory on a free RADIUS port (no accounting, no portal); `edit` changes its gangway.yaml. */
export async function initDemoDataDir(data: string, secret: string, edit?: (config: { server: Record<string, unknown> } & Record<string, unknown>) => void): Promise<{ data: string; port: number }> {
  const port = await freeUdpPort();
  const init = spawnSync(process.execPath, [main, 'init', data, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0', '--secret', secret], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`gangway init failed (${String(init.status)}): ${init.stderr}`);
  if (edit) {
    const cfg = join(data, 'gangway.yaml');
    const doc = parse(readFileSync(cfg, 'utf8')) as { server: Record<string, unknown> } & Record<string, unknown>;
    edit(doc);
    writeFileSync(cfg, stringify(doc), { mode: 0o600 });
  }
  return { data, port };
}

export interface ServeProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** The JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** Resolves with the `gangway listening` line; rejects after `timeoutMs` or when the process ends first. */
  listening(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGTERM, then SIGKILL: for afterAll. */
  kill(): Promise<void>;
}

export function spawnServe(data: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): ServeProcess {
  const child = spawn(process.execPath, [main, 'serve', '--data', data, ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const lines = (): Record<string, unknown>[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    output: () => out,
    lines,
    async listening(timeoutMs = 60_000) {
      for (let waited = 0; waited < timeoutMs; waited += 100) {
        const line = lines().find((l) => l.msg === 'gangway listening');
        if (line) return line;
        if (!isRunning(child)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`gangway serve did not start listening:\n${out}`);
    },
    async stop() {
      if (!isRunning(child)) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
    kill: () => terminate(child),
  };
}

/** `count` EAP-TLS authentications one after another with the demo client certificate; those that failed, with why. */
export async function failedDemoEapTlsRuns(serve: ServeProcess, data: string, port: number, secret: string, count: number): Promise<unknown[]> {
  const driver = await demoEapTlsDriver(data, port, secret, () => serve.output());
  try {
    const failed: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const r = await driver.run(i, 1);
      if (!r.ok) failed.push(r);
    }
    return failed;
  } finally {
    await driver.close();
  }
}
