'use strict';
/**
 * Jest reporter: one summary, at the end of the run, of the interop tools (and shared spec files)
 * that were missing, and which test files skipped tests because of them. Jest shows no console
 * output for a file whose tests were all skipped, so without this a developer would not notice.
 * requireTool (require-tool.ts) appends one JSON line per miss to the file named by
 * GANGWAY_MISSING_TOOLS_FILE, which this reporter sets before any test file runs.
 */
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');

class MissingToolsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.file = join(tmpdir(), `gangway-missing-tools-${process.pid}-${Date.now()}.jsonl`);
    process.env.GANGWAY_MISSING_TOOLS_FILE = this.file;
  }

  onRunComplete() {
    if (!existsSync(this.file)) return;
    const byTool = new Map();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      const seen = byTool.get(entry.name) ?? { message: entry.message, files: new Set() };
      if (entry.testPath) seen.files.add(relative(this.rootDir, entry.testPath));
      byTool.set(entry.name, seen);
    }
    rmSync(this.file, { force: true });
    if (byTool.size === 0) return;
    const bar = '!'.repeat(72);
    const lines = [`\n${bar}`, `!! Tests were SKIPPED because these are missing (CI=true makes this a failure):`];
    for (const [name, { message, files }] of byTool) {
      lines.push(`!!   ${name}: ${message}`);
      if (files.size > 0) lines.push(`!!     skipped in: ${[...files].sort().join(', ')}`);
    }
    lines.push(
      '!! Debian packages: eapoltest, freeradius, freeradius-utils, postgresql, libjemalloc2; the TEAP-capable eapol_test and hostapd:',
      '!!   scripts/build-hostap-tools.sh .tools/hostap hostapd   (bash .ci/run installs everything)',
      '!! PostgreSQL is reached at $GANGWAY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).',
      `${bar}\n`,
    );
    process.stderr.write(`${lines.join('\n')}\n`);
  }
}

module.exports = MissingToolsReporter;
