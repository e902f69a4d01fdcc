/**
 * Run FreeRADIUS 3.2 as a RADIUS proxy in front of an EAP server (Gangway, or hostapd in the harness
 * self-test), using the operator configuration in deploy/freeradius/ with its @@...@@ placeholders
 * filled in.
 *
 *   const proxy = await startFreeradiusProxy({ homeHost, homePort, homeSecret, clientSecret });
 *   // point the NAS / eapol_test at 127.0.0.1:proxy.port with proxy.secret
 *   await proxy.stop();
 *
 * The server runs in the foreground with debug logging (-xx) into `<dir>/run/radius.log`; nothing goes
 * to the test output. `logTail()` is there for failure messages.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freeUdpPort, isRunning, projectRoot, sleep, terminate } from './proc.js';
import { requireTool, whichTool } from './require-tool.js';

export interface FreeradiusTools {
  freeradius: string;
  radclient: string;
}

/** freeradius + radclient, with requireTool semantics (undefined = skip locally, throw in CI). */
export function freeradiusTools(): FreeradiusTools | undefined {
  const freeradius = requireTool('freeradius');
  const radclient = requireTool('radclient');
  return freeradius && radclient ? { freeradius, radclient } : undefined;
}

export interface FreeradiusProxyOptions {
  /** Where the proxy relays to (Gangway's RADIUS listener). */
  homeHost: string;
  homePort: number;
  /**
   * A second Gangway server: the proxy then balances the two, keyed on Calling-Station-Id
   * (deploy/freeradius/many-servers/proxy.conf), homeHost/homePort being the first.
   */
  homeB?: { host: string; port: number };
  /** Secret between proxy and home server. */
  homeSecret: string;
  /** Secret between the NAS (eapol_test) and the proxy. */
  clientSecret: string;
  /** Address the proxy listens on for the NAS; default 127.0.0.1. */
  listenHost?: string;
  /** NAS address or network allowed to use the proxy; default <listenHost>/32. */
  clientAddr?: string;
  /** Binaries; default from freeradiusTools(). */
  tools?: FreeradiusTools;
  /** How long to wait for the first Status-Server answer; default 20 s. */
  startTimeoutMs?: number;
  /** Keep the temp dir (config + logs) after stop(); also when GANGWAY_KEEP_TMP=1. */
  keepDir?: boolean;
}

export interface FreeradiusProxy {
  host: string;
  port: number;
  /** Where the NAS sends Accounting-Requests. */
  acctPort: number;
  /** The secret the NAS uses towards the proxy (= clientSecret). */
  secret: string;
  /** Temp dir with the substituted config; logs in `<dir>/run/`. */
  dir: string;
  logFile: string;
  /** Last lines of the debug log. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** The configuration shipped for operators and used verbatim (after substitution) by the tests. */
export function freeradiusConfigDir(): string {
  return join(projectRoot(), 'deploy', 'freeradius');
}

function defaultLibdir(): string {
  const candidates = ['/usr/lib/freeradius', '/usr/lib64/freeradius', '/usr/local/lib/freeradius', '/usr/local/lib'];
  return candidates.find((d) => existsSync(join(d, 'rlm_always.so'))) ?? '/usr/lib/freeradius';
}

// Secrets are written inside '...' in the config: keep to printable ASCII without quote or backslash.
function checkSecret(name: string, s: string): void {
  if (!/^[\x21-\x7e]+$/.test(s) || /['\\]/.test(s)) {
    throw new Error(`${name}: use printable ASCII without spaces, quotes or backslashes for test secrets`);
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/**
 * Copy deploy/freeradius to `dest` and fill in every @@KEY@@ placeholder; throws on a placeholder
 * left over. `manyServers` puts many-servers/proxy.conf in place of proxy.conf, as docs/scaling.md
 * tells an operator to.
 */
export function renderFreeradiusConfig(dest: string, values: Record<string, string>, opts: { manyServers?: boolean } = {}): void {
  const source = freeradiusConfigDir();
  const variants = join(source, 'many-servers');
  cpSync(source, dest, { recursive: true, filter: (src) => src !== variants });
  if (opts.manyServers) cpSync(join(variants, 'proxy.conf'), join(dest, 'proxy.conf'));
  for (const file of listFiles(dest)) {
    const text = readFileSync(file, 'utf8').replace(/@@([A-Z_]+)@@/g, (whole, key: string) => {
      const v = values[key];
      if (v === undefined) throw new Error(`${file}: no value for placeholder ${whole}`);
      return v;
    });
    writeFileSync(file, text);
  }
}

function runRadclient(radclient: string, args: string[], input: string): Promise<number> {
  return new Promise((resolve) => {
    const child = execFile(radclient, args, { timeout: 5000 }, (err) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve(code);
    });
    child.stdin?.end(input);
  });
}

/** One Status-Server round trip (RFC 5997, with Message-Authenticator); true on an answer. */
export async function statusServer(radclient: string, host: string, port: number, secret: string): Promise<boolean> {
  const code = await runRadclient(
    radclient,
    ['-q', '-r', '1', '-t', '1', `${host}:${port}`, 'status', secret],
    'Message-Authenticator = 0x00\n',
  );
  return code === 0;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Start the proxy and wait until it answers Status-Server. Retries with a new port on a bind race. */
export async function startFreeradiusProxy(opts: FreeradiusProxyOptions): Promise<FreeradiusProxy> {
  const tools = opts.tools ?? {
    freeradius: whichTool('freeradius') ?? 'freeradius',
    radclient: whichTool('radclient') ?? 'radclient',
  };
  checkSecret('homeSecret', opts.homeSecret);
  checkSecret('clientSecret', opts.clientSecret);
  const host = opts.listenHost ?? '127.0.0.1';
  const startTimeoutMs = opts.startTimeoutMs ?? 20000;
  const keep = opts.keepDir === true || process.env.GANGWAY_KEEP_TMP === '1';

  let lastError = '';
  for (let attempt = 1; attempt <= 5; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-freeradius-'));
    const runDir = join(dir, 'run');
    mkdirSync(runDir);
    const port = await freeUdpPort(host);
    const acctPort = await freeUdpPort(host);
    renderFreeradiusConfig(dir, {
      CONFDIR: dir,
      RUNDIR: runDir,
      LIBDIR: defaultLibdir(),
      LISTEN_ADDR: host,
      LISTEN_PORT: String(port),
      LISTEN_ACCT_PORT: String(acctPort),
      CLIENT_ADDR: opts.clientAddr ?? `${host}/${host.includes(':') ? 128 : 32}`,
      CLIENT_SECRET: opts.clientSecret,
      HOME_HOST: opts.homeHost,
      HOME_PORT: String(opts.homePort),
      HOME_SECRET: opts.homeSecret,
      PROXY_SRC_ADDR: host,
      ...(opts.homeB
        ? { HOME_A_HOST: opts.homeHost, HOME_A_PORT: String(opts.homePort), HOME_B_HOST: opts.homeB.host, HOME_B_PORT: String(opts.homeB.port) }
        : {}),
    }, { manyServers: opts.homeB !== undefined });

    const logFile = join(runDir, 'radius.log');
    // Anything printed before the log file is opened (config syntax errors) lands in stdio.log.
    const stdioFd = openSync(join(runDir, 'stdio.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn(tools.freeradius, ['-f', '-xx', '-l', logFile, '-d', dir], {
        stdio: ['ignore', stdioFd, stdioFd],
      });
    } finally {
      closeSync(stdioFd);
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

    const deadline = Date.now() + startTimeoutMs;
    let ready = false;
    while (Date.now() < deadline && isRunning(child)) {
      if (await statusServer(tools.radclient, host, port, opts.clientSecret)) {
        ready = true;
        break;
      }
      await sleep(200);
    }

    const logTail = (lines = 60): string => tail(logFile, lines);
    if (ready) {
      return {
        host,
        port,
        acctPort,
        secret: opts.clientSecret,
        dir,
        logFile,
        logTail,
        async stop() {
          await terminate(child);
          if (!keep) rmSync(dir, { recursive: true, force: true });
        },
      };
    }

    await terminate(child);
    const err = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
    const log = `${tail(join(runDir, 'stdio.log'), 30)}\n${logTail(30)}`;
    lastError = err ? `${err.message}` : log;
    if (!keep) rmSync(dir, { recursive: true, force: true });
    if (!/already in use|Failed binding/i.test(log)) break;
  }
  throw new Error(`FreeRADIUS proxy did not come up:\n${lastError}`);
}
