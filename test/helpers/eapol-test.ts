/**
 * Drive wpa_supplicant's `eapol_test` (a complete EAP peer speaking RADIUS) against a server on
 * loopback, and locate the TEAP-capable build in .tools/hostap.
 *
 * eapol_test lines this module relies on (wpa_supplicant 2.10, see wpa_supplicant/eapol_test.c):
 *   "CTRL-EVENT-EAP-SUCCESS EAP authentication completed successfully"   once per successful EAP run
 *   "CTRL-EVENT-EAP-FAILURE EAP authentication failed"                   once per failed EAP run
 *   "RADIUS message: code=2 (Access-Accept) ..."  /  "code=3 (Access-Reject)"
 *   "WARNING: PMK mismatch"                  MS-MPPE keys from the server differ from the peer's MSK
 *   "MPPE keys OK: N  mismatch: M"           summary over all runs (1 + number of re-auths)
 *   "EAPOL test timed out"                   the -t timeout expired
 *   "SUCCESS" / "FAILURE"                    the very last line
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { projectRoot } from './proc.js';
import { inCi, isExecutableFile, requireTool } from './require-tool.js';

export interface EapolTestOptions {
  /** Path of the eapol_test binary (Debian's /usr/bin/eapol_test or hostapTools().eapolTest). */
  binary: string;
  /**
   * The wpa_supplicant config, usually one `network={...}` block. A function receives the temp dir the
   * file is written to, for configs that mention files of their own (pac_file, blobs).
   */
  config: string | ((dir: string) => string);
  /** RADIUS server port on `host`. */
  port: number;
  /** RADIUS shared secret. */
  secret: string;
  /** RADIUS server address; default 127.0.0.1. */
  host?: string;
  /** Re-authentications after the first run (-r N). Default 0, i.e. one authentication. */
  reauths?: number;
  /** eapol_test's own timeout in seconds (-t); eapol_test's default is 30. */
  timeoutSec?: number;
  /** Further arguments, e.g. ['-N', '30:s:ap-ssid'] or ['-M', '02:00:00:00:00:02']. */
  extraArgs?: string[];
  /** Keep the temp dir (for debugging); it is reported in the result. */
  keepDir?: boolean;
}

export interface EapolTestResult {
  /** Process exit code; null when killed by the safety timer. eapol_test exits 0 only on SUCCESS. */
  exitCode: number | null;
  /** Everything eapol_test printed on stdout (its debug log and the summary). */
  output: string;
  stderr: string;
  /** The last non-empty line of stdout is "SUCCESS". */
  success: boolean;
  /** N of the "MPPE keys OK: N  mismatch: M" summary: runs whose MS-MPPE keys matched the peer's MSK. */
  mppeOk: number;
  /** M of the same summary line. */
  mppeMismatch: number;
  /** "EAP authentication completed successfully" lines: completed EAP runs on the peer side. */
  authSuccessCount: number;
  /** "EAP authentication failed" lines. */
  authFailureCount: number;
  /** Access-Accept / Access-Reject packets received. */
  acceptCount: number;
  rejectCount: number;
  timedOut: boolean;
  /** Temp dir holding the config (deleted unless keepDir). */
  dir: string;
  /** The exact command line, for failure messages. */
  command: string;
}

function countLines(output: string, re: RegExp): number {
  return output.split('\n').filter((l) => re.test(l)).length;
}

/** Parse eapol_test stdout; exported for unit tests and for callers that run it themselves. */
export function parseEapolTestOutput(
  output: string,
): Pick<
  EapolTestResult,
  | 'success'
  | 'mppeOk'
  | 'mppeMismatch'
  | 'authSuccessCount'
  | 'authFailureCount'
  | 'acceptCount'
  | 'rejectCount'
  | 'timedOut'
> {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const summary = /^MPPE keys OK: (\d+)\s+mismatch: (\d+)$/m.exec(output);
  return {
    success: lines[lines.length - 1] === 'SUCCESS',
    mppeOk: summary ? Number(summary[1]) : 0,
    mppeMismatch: summary ? Number(summary[2]) : 0,
    authSuccessCount: countLines(output, /EAP authentication completed successfully/),
    authFailureCount: countLines(output, /CTRL-EVENT-EAP-FAILURE/),
    acceptCount: countLines(output, /^RADIUS message: code=2 \(Access-Accept\)/),
    rejectCount: countLines(output, /^RADIUS message: code=3 \(Access-Reject\)/),
    timedOut: /^EAPOL test timed out/m.test(output),
  };
}

/** Run eapol_test once (with optional re-authentications) and collect its verdict. */
export async function runEapolTest(opts: EapolTestOptions): Promise<EapolTestResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gangway-eapol-'));
  const conf = join(dir, 'eapol.conf');
  writeFileSync(conf, typeof opts.config === 'function' ? opts.config(dir) : opts.config, { mode: 0o600 });

  const args = ['-a', opts.host ?? '127.0.0.1', '-p', String(opts.port), '-s', opts.secret, '-c', conf];
  args.push('-r', String(opts.reauths ?? 0));
  if (opts.timeoutSec !== undefined) args.push('-t', String(opts.timeoutSec));
  args.push(...(opts.extraArgs ?? []));
  const command = [opts.binary, ...args].join(' ');

  // eapol_test stops itself after -t seconds per authentication; this is only a backstop against a hang.
  const runs = (opts.reauths ?? 0) + 1;
  const backstopMs = ((opts.timeoutSec ?? 30) * runs + 15) * 1000;

  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), backstopMs);
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

  const output = Buffer.concat(stdout).toString('utf8');
  if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  return {
    exitCode,
    output,
    stderr: Buffer.concat(stderr).toString('utf8'),
    ...parseEapolTestOutput(output),
    dir,
    command,
  };
}

/** Short failure description for test assertions: the command and the tail of the output. */
export function describeEapolFailure(r: EapolTestResult, tailLines = 40): string {
  const tail = r.output.split('\n').slice(-tailLines).join('\n');
  return `${r.command}\nexit=${r.exitCode}\n--- stdout (tail) ---\n${tail}\n--- stderr ---\n${r.stderr}`;
}

export interface HostapTools {
  /** TEAP-capable eapol_test built by scripts/build-hostap-tools.sh. */
  eapolTest: string;
  /** hostapd with the integrated RADIUS/EAP server. */
  hostapd: string;
}

/** Directory the project keeps its own hostap builds in (gitignored). */
export function hostapToolsDir(): string {
  return join(projectRoot(), '.tools', 'hostap');
}

let buildAttempted = false;

/**
 * Paths of the TEAP-capable eapol_test and hostapd in .tools/hostap.
 *
 * When they are missing they are built with scripts/build-hostap-tools.sh, but only when CI=true or
 * GANGWAY_BUILD_TOOLS=1 (a build needs root for apt-get and takes minutes). Otherwise the result is
 * undefined after a loud skip banner; in CI a missing tool throws (requireTool semantics).
 * Synchronous so that it can decide between describe and describe.skip at collection time.
 */
export function hostapTools(): HostapTools | undefined {
  const dir = hostapToolsDir();
  const eapolPath = join(dir, 'eapol_test');
  const hostapdPath = join(dir, 'hostapd');
  const present = (): boolean => isExecutableFile(eapolPath) && isExecutableFile(hostapdPath);

  if (!present() && !buildAttempted && (inCi() || process.env.GANGWAY_BUILD_TOOLS === '1')) {
    buildAttempted = true;
    const script = join(projectRoot(), 'scripts', 'build-hostap-tools.sh');
    process.stderr.write(`hostap tools missing; building them with ${script} (takes a few minutes)\n`);
    try {
      // Build output goes to stderr so that it shows up next to the test that asked for it.
      execFileSync('bash', [script, dir, 'hostapd'], { stdio: ['ignore', 2, 2] });
    } catch (err) {
      if (inCi()) throw new Error(`building the hostap tools failed: ${(err as Error).message}`);
      process.stderr.write(`building the hostap tools failed: ${(err as Error).message}\n`);
    }
  }

  const eapolTest = requireTool('eapol_test (TEAP build)', eapolPath);
  const hostapd = requireTool('hostapd (RADIUS server build)', hostapdPath);
  return eapolTest && hostapd ? { eapolTest, hostapd } : undefined;
}
