/**
 * hostapd's integrated RADIUS/EAP server as a reference peer for interop tests (needs the build from
 * scripts/build-hostap-tools.sh: see hostapTools()). It listens on a free loopback port and logs with
 * -dd (keys included with -K) into `<dir>/hostapd.log`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { writeHostapdRadiusConfig } from '../../src/bench/hostapd-config.js';
import { freeUdpPort, isRunning, sleep, terminate } from './proc.js';

export interface HostapdRadiusOptions {
  /** Path of the hostapd binary (hostapTools().hostapd). */
  hostapd: string;
  /** Secret for RADIUS clients from `clientAddr`. */
  secret: string;
  /** Content of the eap_user file (phase 1 and [2] phase 2 users). */
  eapUsers: string;
  /**
   * Extra hostapd.conf lines: certificates (ca_cert, server_cert, private_key), TEAP/FAST settings
   * (pac_opaque_encr_key, eap_fast_a_id, eap_teap_auth, ...). A function gets the temp dir.
   */
  settings: string | ((dir: string) => string);
  /** Allowed RADIUS client network; default 127.0.0.1/32. */
  clientAddr?: string;
  /** Log keys (-K); default true. */
  logKeys?: boolean;
  startTimeoutMs?: number;
  keepDir?: boolean;
}

export interface HostapdRadius {
  host: string;
  port: number;
  secret: string;
  dir: string;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
}

const READY_LINE = /Setup of interface done/;

/** Start hostapd as a RADIUS server on 127.0.0.1:<free port>; resolves once the server is set up. */
export async function startHostapdRadius(opts: HostapdRadiusOptions): Promise<HostapdRadius> {
  const keep = opts.keepDir === true || process.env.GANGWAY_KEEP_TMP === '1';
  const startTimeoutMs = opts.startTimeoutMs ?? 15000;
  let lastLog = '';
  for (let attempt = 1; attempt <= 5; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-hostapd-'));
    const port = await freeUdpPort();
    const conf = writeHostapdRadiusConfig({
      dir,
      port,
      secret: opts.secret,
      eapUsers: opts.eapUsers,
      settings: typeof opts.settings === 'function' ? opts.settings(dir) : opts.settings,
      ...(opts.clientAddr !== undefined ? { clientAddr: opts.clientAddr } : {}),
    });

    const logFile = join(dir, 'hostapd.log');
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      const args = ['-dd', '-t', ...(opts.logKeys === false ? [] : ['-K']), conf];
      child = spawn(opts.hostapd, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const log = (): string => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    };

    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && isRunning(child) && !READY_LINE.test(log())) await sleep(100);
    if (isRunning(child) && READY_LINE.test(log())) {
      return {
        host: '127.0.0.1',
        port,
        secret: opts.secret,
        dir,
        logFile,
        log,
        async stop() {
          await terminate(child);
          if (!keep) rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await terminate(child);
    lastLog = log().split('\n').slice(-30).join('\n');
    if (!keep) rmSync(dir, { recursive: true, force: true });
    if (!/Address already in use/.test(lastLog)) break;
  }
  throw new Error(`hostapd RADIUS server did not start:\n${lastLog}`);
}
