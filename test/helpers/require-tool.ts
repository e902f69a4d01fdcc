import { appendFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
// Executable regular file: the benchmark's locator has the same check.
import { isExecutable as isExecutableFile } from '../../src/bench/locate.js';

export { isExecutableFile };

/** The one switch for "a missing tool is a failure": CI runs must never silently skip interop tests. */
export function inCi(): boolean {
  return process.env.CI === 'true';
}


/** Path of `name` on PATH (or `name` itself when absolute and executable), without the CI rule. */
export function whichTool(name: string): string | undefined {
  if (isAbsolute(name)) return isExecutableFile(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Locates an external tool a test depends on (radclient, eapol_test, openssl...).
 * Found: returns its path. Missing: throws when process.env.CI === 'true'; otherwise prints a loud
 * skip banner and returns undefined, and the caller skips, e.g. `(tool ? it : it.skip)(...)`.
 * `path`, when given, is the exact file to check and `name` only labels it in messages.
 */
export function requireTool(name: string, path?: string): string | undefined {
  const found = path !== undefined ? (isExecutableFile(path) ? path : undefined) : whichTool(name);
  if (found) return found;
  return missing(name, path !== undefined ? `required tool "${name}" not found at ${path}` : `required tool "${name}" not found on PATH`);
}

/** A missing tool or file: a failure under CI, elsewhere a loud skip that the run's summary lists. */
function missing(name: string, message: string): undefined {
  if (inCi()) {
    throw new Error(`${message}; CI=true, so tests that need it fail instead of skipping`);
  }
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING tests that need "${name}": ${message}.\n!! Install it (CI fails on this).\n${bar}\n`);
  noteSkip(name, message);
  return undefined;
}

/**
 * As requireTool, for a file that is used but not run (a shared library to preload): found when it
 * exists as a regular file; missing, it fails under CI and is a loud, reported skip elsewhere.
 */
export function requireFile(name: string, path: string): string | undefined {
  let found = false;
  try {
    found = statSync(path).isFile();
  } catch {
    found = false;
  }
  return found ? path : missing(name, `required file "${name}" not found at ${path}`);
}

/**
 * Tells the run's summary (test/helpers/missing-tools-reporter.cjs) that tests are skipped for want
 * of `name`, and in which test file.
 */
export function noteSkip(name: string, message: string): void {
  const file = process.env.GANGWAY_MISSING_TOOLS_FILE;
  if (!file) return;
  let testPath: string | undefined;
  try {
    testPath = expect.getState().testPath;
  } catch {
    testPath = undefined;
  }
  appendFileSync(file, `${JSON.stringify({ name, message, ...(testPath ? { testPath } : {}) })}\n`);
}
