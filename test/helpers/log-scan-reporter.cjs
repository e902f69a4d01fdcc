'use strict';
/**
 * Jest reporter: the scan of every log line a test run wrote (issue 8.6). Before any test file
 * runs it makes a capture directory and names it in GANGWAY_LOG_CAPTURE; every logger made by
 * createLog — in this process, in Jest workers and in the `gangway` processes tests spawn, which
 * inherit the variable — and every MemoryLog and silentLog copies its lines there (one file per
 * process). When the run completes, log-scan.cjs scans them all; one summary line is printed, and
 * any finding fails the run (getLastError, which Jest turns into a non-zero exit) with the lines
 * named, the test file that was running, and the capture kept for inspection.
 * GANGWAY_LOG_SCAN_KEEP=1 keeps the capture of a clean run too.
 */
const { mkdirSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');
const { collectLiterals, literalForms, scanCapture, SECRET_FIELDS } = require('./log-scan.cjs');

const ENV = 'GANGWAY_LOG_CAPTURE';
const SHOWN = 20;

class LogScanReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.dir = mkdtempSync(join(tmpdir(), 'gangway-log-capture-'));
    process.env[ENV] = this.dir;
    this.starts = [];
    this.error = undefined;
  }

  /** Watch mode runs again in the same process: the directory a clean run removed comes back. */
  onRunStart() {
    mkdirSync(this.dir, { recursive: true });
    this.starts = [];
  }

  onTestFileStart(test) {
    this.starts.push({ at: Date.now(), path: relative(this.rootDir, test.path) });
  }

  onRunComplete() {
    const literals = collectLiterals(this.rootDir);
    const scan = scanCapture(this.dir, literalForms(literals));
    const count = (n) => n.toLocaleString('en-US');
    const summary = `log scan: ${count(scan.lines)} log lines (${count(scan.octets)} octets) from ${scan.files} process${scan.files === 1 ? '' : 'es'}, checked for PEM private keys, ${SECRET_FIELDS.size} secret field names and ${literals.size} test secrets: ${scan.findings.length} findings`;
    if (scan.findings.length === 0) {
      if (process.env.GANGWAY_LOG_SCAN_KEEP === '1') {
        process.stderr.write(`${summary} (capture kept in ${this.dir})\n`);
      } else {
        rmSync(this.dir, { recursive: true, force: true });
        process.stderr.write(`${summary}\n`);
      }
      return;
    }
    const bar = '!'.repeat(72);
    const out = [`\n${bar}`, `!! ${summary} — a secret reached a log line:`];
    for (const f of scan.findings.slice(0, SHOWN)) {
      out.push(`!!   ${f.rule}: ${f.what} — ${f.file}:${f.lineNumber}${this.during(f.time)}`);
      out.push(`!!     ${f.line.length > 300 ? `${f.line.slice(0, 300)}…` : f.line}`);
    }
    if (scan.findings.length > SHOWN) out.push(`!!   … and ${scan.findings.length - SHOWN} more`);
    out.push(`!! The captured lines are kept in ${this.dir}`, `${bar}\n`);
    process.stderr.write(`${out.join('\n')}\n`);
    this.error = new Error(`log scan: ${scan.findings.length} secrets in log lines`);
    // Jest's summary ("Tests: … passed") comes after this reporter: say at the very end why the run is red.
    process.once('exit', () => process.stderr.write(`log scan FAILED: ${scan.findings.length} findings (listed above the summary); the run exits non-zero\n`));
  }

  /** The test file that was running when the line was written (lines carry pino's time). */
  during(time) {
    if (time === undefined) return '';
    let running;
    for (const s of this.starts) if (s.at <= time) running = s.path;
    return running ? ` (during ${running})` : '';
  }

  getLastError() {
    return this.error;
  }
}

module.exports = LogScanReporter;
