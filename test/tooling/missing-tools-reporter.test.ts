/**
 * npm test names every missing interop tool in one summary at the end, with the test files that
 * skipped because of it, even when all of a file's tests were skipped (Jest itself prints nothing
 * for such files). Runs Jest on one interop suite with a PATH that has node and nothing else.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../helpers/proc.js';

test('a missing radclient is named in the run\'s summary with the file that skipped', () => {
  const bin = mkdtempSync(join(tmpdir(), 'gangway-path-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const root = projectRoot();
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
    delete env.CI;
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', 'test/radius/radclient.test.ts'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('Tests were SKIPPED because these are missing');
    expect(r.stderr).toContain('radclient: required tool "radclient" not found on PATH');
    expect(r.stderr).toContain('skipped in: test/radius/radclient.test.ts');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}, 150_000);
